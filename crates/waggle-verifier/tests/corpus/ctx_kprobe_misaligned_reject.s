# expect: reject not aligned
# type: raw
ldxw %r0, [%r1+6]
exit
