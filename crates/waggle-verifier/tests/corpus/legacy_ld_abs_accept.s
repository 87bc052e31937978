# expect: accept
# type: socket
mov %r6, %r1
ldabsb 9
ldindh %r0, 2
exit
