# expect: reject
# type: raw
# maps: events:ringbuf:0:0:4096
# 16 bytes written into an 8-byte record.
lddw %r1, map_idx 0
mov %r2, 8
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
