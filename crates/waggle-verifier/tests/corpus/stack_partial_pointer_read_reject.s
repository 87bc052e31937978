# expect: reject partial read of a spilled pointer
# type: xdp
stxdw [%r10-8], %r1
ldxw %r0, [%r10-8]
exit
