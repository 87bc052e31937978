# expect: reject byte fp-4 was never written
# type: raw
# Only the low four bytes of the slot are written.
stw [%r10-8], 0
ldxdw %r0, [%r10-8]
exit
