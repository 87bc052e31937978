# expect: accept
# type: raw
# A store at a variable (bounded, aligned) offset into an initialised
# buffer.
stdw [%r10-8], 0
stdw [%r10-16], 0
call 7
and %r0, 8
mov %r1, %r10
add %r1, -16
add %r1, %r0
stdw [%r1+0], 7
ldxdw %r0, [%r10-16]
exit
