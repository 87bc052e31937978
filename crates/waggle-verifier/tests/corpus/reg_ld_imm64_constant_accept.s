# expect: accept
# type: raw
lddw %r0, 0x1122334455667788
rsh %r0, 56
exit
