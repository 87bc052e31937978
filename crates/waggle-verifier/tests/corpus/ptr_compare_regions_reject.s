# expect: reject comparison of pointers into different regions
# type: xdp
mov %r0, 2
jeq %r1, %r10, out
out:
exit
