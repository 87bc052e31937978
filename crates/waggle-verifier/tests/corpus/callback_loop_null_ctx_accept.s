# expect: accept
# type: xdp
# No context (NULL); the callback stops the loop at once by returning 1.
mov %r1, 4
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 2
exit
cb:
mov %r0, 1
exit
