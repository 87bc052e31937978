# expect: reject not accessible
# type: socket
ldxw %r2, [%r1+76]
mov %r0, 0
exit
