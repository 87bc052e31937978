# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
# A record is memory a helper may write (bpf_get_current_comm into it).
lddw %r1, map_idx 0
mov %r2, 16
mov %r3, 0
call 131
jeq %r0, 0, out
mov %r6, %r0
mov %r1, %r6
mov %r2, 16
call 16
mov %r1, %r6
mov %r2, 0
call 132
out:
mov %r0, 0
exit
