# expect: reject read-only for this program type
# type: socket
mov %r2, 7
stxw [%r1+8], %r2
mov %r0, 0
exit
