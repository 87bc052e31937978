# expect: reject invalid access to packet: offset 12, size 2, but only 0 bytes are proven in bounds
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

ldxh %r0, [%r2+12]
exit
