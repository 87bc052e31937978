# expect: reject outside the frame
# type: raw
# A pointer compared with another pointer (here the frame pointer) gets no
# bound from the comparison: the walk is followed until it leaves the frame.
mov %r1, %r10
add %r1, -64
mov %r2, %r10
loop:
stdw [%r1+0], 0
add %r1, 8
jlt %r1, %r2, loop
ldxdw %r0, [%r10-64]
exit
