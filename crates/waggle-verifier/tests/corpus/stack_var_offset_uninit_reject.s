# expect: reject read of uninitialised stack
# type: raw
# Only half of the buffer the variable offset may reach is written.
stdw [%r10-8], 0
call 7
and %r0, 15
mov %r1, %r10
add %r1, -16
add %r1, %r0
ldxb %r0, [%r1+0]
exit
