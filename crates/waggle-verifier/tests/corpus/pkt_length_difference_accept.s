# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# data_end - data is a number.
mov %r0, %r3
sub %r0, %r2
exit
