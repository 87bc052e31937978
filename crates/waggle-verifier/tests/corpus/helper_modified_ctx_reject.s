# expect: reject must be the unmodified context pointer
# type: socket
add %r1, 4
mov %r3, %r10
add %r3, -8
mov %r2, 0
mov %r4, 8
call 26
mov %r0, 0
exit
