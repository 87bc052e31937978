# expect: accept
# type: xdp
# A loop over packet bytes: each iteration checks the next byte against
# data_end before reading it, and a counter bounds the iterations.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 0
mov %r4, 0
loop:
mov %r5, %r2
add %r5, 1
jgt %r5, %r3, out
ldxb %r6, [%r2+0]
add %r0, %r6
mov %r2, %r5
add %r4, 1
jlt %r4, 32, loop
out:
mov %r0, 2
exit
