# expect: reject read of uninitialised stack
# type: raw
ldxdw %r0, [%r10-8]
exit
