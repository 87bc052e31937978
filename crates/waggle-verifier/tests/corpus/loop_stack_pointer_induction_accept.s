# expect: accept
# type: raw
# clang's pointer induction: a pointer walks a stack array while a counter
# bounds the loop; each step writes inside the frame.
mov %r1, %r10
add %r1, -64
mov %r3, 0
loop:
stdw [%r1+0], 0
add %r1, 8
add %r3, 1
jlt %r3, 8, loop
ldxdw %r0, [%r10-64]
exit
