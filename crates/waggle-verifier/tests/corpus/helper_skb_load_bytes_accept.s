# expect: accept
# type: socket
mov %r3, %r10
add %r3, -20
mov %r2, 0
mov %r4, 20
call 26
ldxb %r0, [%r10-11]
exit
