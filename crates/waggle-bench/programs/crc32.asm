# 32-bit ALU: CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320), bit by
# bit and branch-free, over the first 128 bytes of the input.
mov32 %r0, -1
mov %r2, %r1
add %r2, 128
byte:
ldxb %r3, [%r1+0]
xor32 %r0, %r3
mov %r4, 8
bit:
# crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1))
mov32 %r5, %r0
and32 %r5, 1
neg32 %r5
and32 %r5, 0xedb88320
rsh32 %r0, 1
xor32 %r0, %r5
sub %r4, 1
jne %r4, 0, bit
add %r1, 1
jlt %r1, %r2, byte
xor32 %r0, -1
exit
