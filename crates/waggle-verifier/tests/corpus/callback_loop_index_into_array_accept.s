# expect: accept
# type: raw
# The callback checks the index and writes element `index` of the caller's
# 32-byte array.
stdw [%r10-8], 0
stdw [%r10-16], 0
stdw [%r10-24], 0
stdw [%r10-32], 0
mov %r1, 4
lddw %r2, func cb
mov %r3, %r10
add %r3, -32
mov %r4, 0
call 181
ldxdw %r0, [%r10-32]
exit
cb:
jge %r1, 4, stop
mov %r3, %r1
lsh %r3, 3
add %r2, %r3
stdw [%r2+0], 1
mov %r0, 0
exit
stop:
mov %r0, 1
exit
