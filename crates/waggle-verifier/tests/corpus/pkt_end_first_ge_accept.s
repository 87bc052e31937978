# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# data_end >= data + 14, data_end on the left.
mov %r4, %r2
add %r4, 14
mov %r0, 2
jge %r3, %r4, ok
exit
ok:
ldxh %r0, [%r2+12]
exit
