# Nested loops: r0 = sum over i, j < 40 of (i * j) ^ j.
mov %r0, 0
mov %r1, 0
outer:
mov %r2, 0
inner:
mov %r3, %r1
mul %r3, %r2
xor %r3, %r2
add %r0, %r3
add %r2, 1
jlt %r2, 40, inner
add %r1, 1
jlt %r1, 40, outer
exit
