# expect: reject a size that may be negative
# type: socket
mov %r6, %r1
call 7
mov %r4, %r0
jeq %r4, 0, out
mov %r1, %r6
mov %r3, %r10
add %r3, -16
mov %r2, 0
call 26
out:
mov %r0, 0
exit
