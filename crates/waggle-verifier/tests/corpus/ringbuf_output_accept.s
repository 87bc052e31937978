# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
stdw [%r10-16], 0
stdw [%r10-8], 7
mov %r2, %r10
add %r2, -16
lddw %r1, map_idx 0
mov %r3, 16
mov %r4, 0
call 130
mov %r0, 0
exit
