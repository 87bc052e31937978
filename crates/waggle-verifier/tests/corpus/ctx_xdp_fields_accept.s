# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxw %r4, [%r1+8]
ldxw %r0, [%r1+12]
ldxw %r5, [%r1+16]
exit
