# expect: reject offset 13, size 2, but only 14 bytes
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

mov %r4, %r2
add %r4, 14
mov %r0, 2
jgt %r4, %r3, exit
ldxh %r0, [%r2+13]
exit
