# expect: reject outside the frame
# type: raw
stdw [%r10-8], 0
call 7
and %r0, 15
mov %r1, %r10
add %r1, -8
add %r1, %r0
ldxb %r0, [%r1+0]
exit
