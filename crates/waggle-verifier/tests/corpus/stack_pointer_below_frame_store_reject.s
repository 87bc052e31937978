# expect: reject outside the frame
# type: raw
mov %r1, %r10
add %r1, -520
stdw [%r1+0], 0
mov %r0, 0
exit
