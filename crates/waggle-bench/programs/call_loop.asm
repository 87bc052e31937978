# bpf-to-bpf calls: 300 iterations, each calling mix(i, acc), which spills a
# value to its own stack frame and calls the leaf square(x) = x * x + 1.
# mix(x, acc) = (square(x) + acc * 31) ^ x.
mov %r6, 0
mov %r7, 0
loop:
mov %r1, %r7
mov %r2, %r6
call local mix
mov %r6, %r0
add %r7, 1
jlt %r7, 300, loop
mov %r0, %r6
exit

mix:
stxdw [%r10-8], %r2
mov %r6, %r1
call local square
ldxdw %r2, [%r10-8]
mul %r2, 31
add %r0, %r2
xor %r0, %r6
exit

square:
mov %r0, %r1
mul %r0, %r1
add %r0, 1
exit
