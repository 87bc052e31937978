# expect: reject only 0 bytes
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# data_end < data + 14 jumps to the access: wrong way round.
mov %r4, %r2
add %r4, 14
mov %r0, 2
jlt %r3, %r4, bad
exit
bad:
ldxb %r0, [%r2+0]
exit
