# expect: reject must be loaded whole
# type: tc
ldxb %r0, [%r1+76]
exit
