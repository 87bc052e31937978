# expect: reject before the start of the metadata
# type: xdp
ldxw %r4, [%r1+8]
ldxb %r0, [%r4-1]
exit
