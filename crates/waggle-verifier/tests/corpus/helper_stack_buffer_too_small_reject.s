# expect: reject outside the frame
# type: socket
mov %r3, %r10
add %r3, -8
mov %r2, 0
mov %r4, 16
call 26
mov %r0, 0
exit
