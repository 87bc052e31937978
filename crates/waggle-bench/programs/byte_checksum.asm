# Byte loads: a Fletcher-style checksum over the 1 KiB input, one byte at a
# time. r0 = (b << 32) | a, where a sums the bytes and b sums the running a.
mov %r0, 0
mov %r3, 0
mov %r2, %r1
add %r2, 1024
loop:
ldxb %r4, [%r1+0]
add %r0, %r4
add %r3, %r0
add %r1, 1
jlt %r1, %r2, loop
lsh %r3, 32
or %r0, %r3
exit
