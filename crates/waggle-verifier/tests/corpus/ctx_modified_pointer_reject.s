# expect: reject dereference of a modified context pointer
# type: xdp
add %r1, 12
ldxw %r0, [%r1+0]
exit
