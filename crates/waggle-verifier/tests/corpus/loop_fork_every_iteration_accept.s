# expect: accept
# type: xdp
# max_insns: 10000
# A walk over packet bytes that forks on every byte: the two sides differ
# only in numbers that decide nothing (a count and a sum), so they meet at
# the loop's join points in the same iteration. Exploration stays linear in
# the iteration count only if states kept inside the loop survive long
# enough to prune the sibling paths (17 286 instructions when every failed
# comparison counted against them, 6 971 now).
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, 0
mov %r5, 0
mov %r6, 0
loop:
mov %r0, %r2
add %r0, %r5
mov %r7, %r0
add %r7, 1
jgt %r7, %r3, out
ldxb %r8, [%r0+0]
jne %r8, 10, skip
add %r4, 1
add %r6, %r5
skip:
add %r5, 1
jlt %r5, 256, loop
out:
mov %r0, 2
exit
