# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

mov %r4, %r2
add %r4, 14
mov %r0, 2
jgt %r4, %r3, exit
mov %r5, 0x11
stxb [%r2+0], %r5
stdw [%r2+6], 0
exit
