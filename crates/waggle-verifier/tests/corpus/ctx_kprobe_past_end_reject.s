# expect: reject outside struct pt_regs
# type: raw
ldxdw %r0, [%r1+168]
exit
