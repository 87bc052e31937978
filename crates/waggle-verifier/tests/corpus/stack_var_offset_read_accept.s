# expect: accept
# type: raw
# A read at a variable offset inside an initialised buffer.
stdw [%r10-16], 0
stdw [%r10-8], 0
call 7
and %r0, 15
mov %r1, %r10
add %r1, -16
add %r1, %r0
ldxb %r0, [%r1+0]
exit
