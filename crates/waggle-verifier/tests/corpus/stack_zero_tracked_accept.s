# expect: accept
# type: raw
# A slot written with zero reads back as the constant 0, so the branch
# reading uninitialised stack is never taken.
stdw [%r10-8], 0
ldxdw %r1, [%r10-8]
jeq %r1, 0, ok
ldxdw %r0, [%r10-16]
exit
ok:
mov %r0, 0
exit
