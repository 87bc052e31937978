# expect: reject
# type: raw
# maps: events:ringbuf:0:0:4096
# A record released twice: the second use is after its release.
lddw %r1, map_idx 0
mov %r2, 8
mov %r3, 0
call 131
jeq %r0, 0, out
mov %r6, %r0
mov %r1, %r6
mov %r2, 0
call 133
mov %r1, %r6
mov %r2, 0
call 133
out:
mov %r0, 0
exit
