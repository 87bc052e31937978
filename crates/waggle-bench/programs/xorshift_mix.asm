# 64-bit arithmetic: 250 steps of xorshift64, each output mixed by the
# MurmurHash3 finaliser (fmix64) and summed into r0.
lddw %r8, 0xff51afd7ed558ccd
lddw %r9, 0xc4ceb9fe1a85ec53
lddw %r1, 0x9e3779b97f4a7c15
mov %r0, 0
mov %r2, 0
loop:
# xorshift64: x ^= x << 13; x ^= x >> 7; x ^= x << 17
mov %r3, %r1
lsh %r3, 13
xor %r1, %r3
mov %r3, %r1
rsh %r3, 7
xor %r1, %r3
mov %r3, %r1
lsh %r3, 17
xor %r1, %r3
# fmix64(x)
mov %r4, %r1
mov %r3, %r4
rsh %r3, 33
xor %r4, %r3
mul %r4, %r8
mov %r3, %r4
rsh %r3, 33
xor %r4, %r3
mul %r4, %r9
mov %r3, %r4
rsh %r3, 33
xor %r4, %r3
add %r0, %r4
add %r2, 1
jlt %r2, 250, loop
exit
