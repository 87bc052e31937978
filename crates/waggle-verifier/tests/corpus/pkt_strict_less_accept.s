# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# data + 13 < data_end proves 14 bytes.
mov %r4, %r2
add %r4, 13
mov %r0, 2
jlt %r4, %r3, ok
exit
ok:
ldxb %r0, [%r2+13]
exit
