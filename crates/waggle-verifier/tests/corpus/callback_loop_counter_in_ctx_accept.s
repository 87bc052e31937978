# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A counter the callback increments may be anything afterwards: the caller
# checks it before using it as an index.
stdw [%r10-8], 0
mov %r1, 100
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
ldxdw %r1, [%r10-8]
jgt %r1, 15, out
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxb %r0, [%r2+0]
exit
out:
mov %r0, 0
exit

cb:
ldxdw %r3, [%r2+0]
add %r3, 1
stxdw [%r2+0], %r3
mov %r0, 0
exit
