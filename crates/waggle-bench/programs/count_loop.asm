# Counting loop: r0 = 0 + 1 + ... + 2999.
# Three instructions per iteration: the cost of dispatch and a taken branch.
mov %r0, 0
mov %r1, 0
loop:
add %r0, %r1
add %r1, 1
jlt %r1, 3000, loop
exit
