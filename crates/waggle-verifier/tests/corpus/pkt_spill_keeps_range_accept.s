# expect: accept
# type: xdp
# A checked packet pointer spilled across a helper call that does not
# touch the packet keeps its proven range when filled.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 8
mov %r0, 1
jgt %r4, %r3, out
stxdw [%r10-8], %r2
call 7
ldxdw %r2, [%r10-8]
ldxdw %r0, [%r2+0]
out:
exit
