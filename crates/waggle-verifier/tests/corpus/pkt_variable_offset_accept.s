# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# IPv4 header length from the packet, then a check on the L4 pointer itself.
mov %r4, %r2
add %r4, 34
mov %r0, 2
jgt %r4, %r3, exit
ldxb %r5, [%r2+14]
and %r5, 15
lsh %r5, 2
mov %r6, %r2
add %r6, 14
add %r6, %r5
mov %r7, %r6
add %r7, 20
jgt %r7, %r3, exit
ldxh %r0, [%r6+2]
exit
