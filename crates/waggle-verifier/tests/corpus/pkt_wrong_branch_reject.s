# expect: reject only 0 bytes are proven
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# The access is on the branch where the packet is too short.
mov %r4, %r2
add %r4, 14
mov %r0, 2
jle %r4, %r3, exit
ldxb %r0, [%r2+0]
exit
