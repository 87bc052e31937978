# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# A packet pointer spilled before the check gets the range after the fill.
stxdw [%r10-8], %r2
mov %r4, %r2
add %r4, 14
mov %r0, 2
jgt %r4, %r3, exit
ldxdw %r5, [%r10-8]
ldxb %r0, [%r5+13]
exit
