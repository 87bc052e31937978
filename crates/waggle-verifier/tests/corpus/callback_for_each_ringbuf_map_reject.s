# expect: reject cannot be used with ringbuf map
# type: raw
# maps: events:ringbuf:0:0:4096
# Ring buffers have no elements to walk.
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
cb:
mov %r0, 0
exit
