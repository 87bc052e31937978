# expect: accept
# type: raw
# The first and last 8-byte slots of the 512-byte frame.
stdw [%r10-512], 1
stdw [%r10-8], 2
ldxdw %r0, [%r10-512]
ldxdw %r1, [%r10-8]
add %r0, %r1
exit
