# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r4, [%r1+8]
mov %r5, %r4
add %r5, 4
mov %r0, 2
jgt %r5, %r2, exit
ldxw %r0, [%r4+0]
exit
