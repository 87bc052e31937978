# expect: accept
# type: raw
# A subprogram's own stack as the callback's context.
call local f
exit
f:
stdw [%r10-8], 5
mov %r1, 2
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
ldxdw %r0, [%r10-8]
exit
cb:
ldxdw %r3, [%r2+0]
stxdw [%r2+0], %r3
mov %r0, 0
exit
