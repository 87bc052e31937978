# expect: reject atomic operation on the context
# type: tc
mov %r2, 1
lock add32 [%r1+8], %r2
mov %r0, 0
exit
