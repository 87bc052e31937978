# expect: reject read of uninitialised stack
# type: socket
# Only the first byte is certainly written by a size in [1, 16].
mov %r6, %r1
call 7
and %r0, 15
add %r0, 1
mov %r4, %r0
mov %r1, %r6
mov %r3, %r10
add %r3, -16
mov %r2, 0
call 26
ldxb %r0, [%r10-1]
exit
