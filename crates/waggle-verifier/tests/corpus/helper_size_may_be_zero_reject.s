# expect: reject a size that may be zero
# type: socket
mov %r6, %r1
call 7
and %r0, 15
mov %r4, %r0
mov %r1, %r6
mov %r3, %r10
add %r3, -16
mov %r2, 0
call 26
mov %r0, 0
exit
