# expect: reject must be a known constant size
# type: raw
# maps: events:ringbuf:0:0:4096
call 7
and %r0, 31
mov %r2, %r0
lddw %r1, map_idx 0
mov %r3, 0
call 131
mov %r0, 0
exit
