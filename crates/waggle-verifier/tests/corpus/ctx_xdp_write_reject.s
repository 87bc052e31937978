# expect: reject read-only
# type: xdp
mov %r2, 1
stxw [%r1+12], %r2
mov %r0, 2
exit
