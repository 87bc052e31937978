# expect: reject partial store of a pointer
# type: xdp
stxw [%r10-8], %r1
mov %r0, 0
exit
