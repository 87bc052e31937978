# expect: accept
# type: raw
# max_insns: 20000
# A counter spilled in 4 bytes differs between the two sides of a branch
# in every iteration, and decides nothing: the states meet at the join and
# the loop head (only the iteration count is precise), so exploration stays
# linear instead of doubling each iteration.
mov %r6, 0
mov %r7, 0
stxw [%r10-8], %r7
loop:
call 7
jeq %r0, 0, skip
ldxw %r1, [%r10-8]
add %r1, 3
stxw [%r10-8], %r1
skip:
ldxw %r1, [%r10-8]
add %r1, 1
stxw [%r10-8], %r1
add %r6, 1
jlt %r6, 64, loop
ldxw %r0, [%r10-8]
exit
