# expect: reject
# type: socket
# Socket filters have no direct packet access.
ldxw %r2, [%r1+76]
mov %r0, 0
exit
