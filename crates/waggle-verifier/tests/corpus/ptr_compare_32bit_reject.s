# expect: reject 32-bit comparison involving a pointer
# type: xdp
mov %r0, 2
jeq32 %r1, 0, out
out:
exit
