# Stores on the stack: 6 rounds, each copying 256 input bytes (from offset
# 32 * round) into stack buffer A 8 bytes at a time, then A into stack buffer B
# one byte at a time. After each round r0 = r0 * 31 + the word of B at
# 8 * round.
# A is [r10-256, r10), B is [r10-512, r10-256).
mov %r0, 0
mov %r6, 0
mov %r7, %r1
round:
# A <- input[32 * round ..][..256], 8 bytes at a time
mov %r1, %r6
lsh %r1, 5
add %r1, %r7
mov %r2, %r10
sub %r2, 256
mov %r8, %r10
words:
ldxdw %r4, [%r1+0]
stxdw [%r2+0], %r4
add %r1, 8
add %r2, 8
jlt %r2, %r8, words
# B <- A, one byte at a time
mov %r1, %r10
sub %r1, 256
mov %r2, %r10
sub %r2, 512
bytes:
ldxb %r4, [%r1+0]
stxb [%r2+0], %r4
add %r1, 1
add %r2, 1
jlt %r1, %r8, bytes
# r0 = r0 * 31 + B[8 * round as u64]
mov %r2, %r6
lsh %r2, 3
add %r2, %r10
ldxdw %r4, [%r2-512]
mul %r0, 31
add %r0, %r4
add %r6, 1
jlt %r6, 6, round
exit
