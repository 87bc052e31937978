# expect: accept
# type: raw
# Storing 4 bytes over a spilled pointer turns the slot into data; its
# low 4 bytes are then an initialised number.
stxdw [%r10-8], %r1
stw [%r10-8], 5
ldxw %r0, [%r10-8]
exit
