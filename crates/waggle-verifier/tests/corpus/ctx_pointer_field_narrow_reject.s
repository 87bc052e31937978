# expect: reject must be loaded whole
# type: xdp
ldxb %r0, [%r1+0]
exit
