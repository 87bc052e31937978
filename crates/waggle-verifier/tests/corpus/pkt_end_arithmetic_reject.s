# expect: reject arithmetic on a pointer to the end of the packet
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

add %r3, -1
mov %r0, 2
exit
