# expect: reject before the start of the context
# type: xdp
ldxw %r0, [%r1-4]
exit
