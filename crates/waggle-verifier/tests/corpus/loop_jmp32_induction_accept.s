# expect: accept
# type: raw
# A 32-bit induction variable, compared with a 32-bit jump.
mov %r1, 0
mov %r0, 0
loop:
add32 %r1, 3
add %r0, 1
jlt32 %r1, 30, loop
exit
