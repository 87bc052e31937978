# expect: reject not aligned
# type: xdp
ldxw %r0, [%r1+14]
exit
