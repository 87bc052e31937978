# expect: reject read of uninitialised stack
# type: raw
mov %r1, 2
lock add [%r10-8], %r1
mov %r0, 0
exit
