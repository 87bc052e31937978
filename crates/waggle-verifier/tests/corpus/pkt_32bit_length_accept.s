# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# clang computes `__u32 len = data_end - data` with 32-bit moves and subtraction.
mov32 %r0, %r3
sub32 %r0, %r2
exit
