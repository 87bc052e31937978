# 8-byte loads: 8 passes over the 1 KiB input summing its 128 little-endian
# words; r0 is multiplied by 31 after each pass.
mov %r0, 0
mov %r6, 0
mov %r7, %r1
mov %r8, %r1
add %r8, 1024
pass:
mov %r1, %r7
word:
ldxdw %r4, [%r1+0]
add %r0, %r4
add %r1, 8
jlt %r1, %r8, word
mul %r0, 31
add %r6, 1
jlt %r6, 8, pass
exit
