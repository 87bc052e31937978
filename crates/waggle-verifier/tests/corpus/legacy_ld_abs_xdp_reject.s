# expect: reject not allowed in xdp programs
# type: xdp
mov %r6, %r1
ldabsb 9
exit
