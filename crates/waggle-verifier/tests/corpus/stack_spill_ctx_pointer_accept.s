# expect: accept
# type: xdp
# A spilled pointer keeps its type: the context read after the fill is checked as one.
stxdw [%r10-8], %r1
mov %r1, 0
ldxdw %r2, [%r10-8]
ldxw %r0, [%r2+12]
exit
