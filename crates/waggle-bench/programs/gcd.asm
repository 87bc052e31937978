# Modulo by a register: Euclid's algorithm on 100 pairs
# (40503 * i, 7919 * i + 1000003) for i = 1..=100.
# r0 = (total Euclid steps << 32) + sum of the gcds.
mov %r0, 0
mov %r6, 0
mov %r1, 1
pair:
mov %r3, %r1
mul %r3, 40503
mov %r4, %r1
mul %r4, 7919
add %r4, 1000003
step:
mov %r5, %r3
mod %r5, %r4
mov %r3, %r4
mov %r4, %r5
add %r6, 1
jne %r4, 0, step
add %r0, %r3
add %r1, 1
jle %r1, 100, pair
lsh %r6, 32
add %r0, %r6
exit
