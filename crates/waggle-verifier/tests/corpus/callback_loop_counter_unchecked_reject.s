# expect: reject
# type: raw
# maps: .bss:array:4:16:1
# The callback may run many times: the counter is not bounded by anything
# the caller can see.
stdw [%r10-8], 0
mov %r1, 100
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
ldxdw %r1, [%r10-8]
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxb %r0, [%r2+0]
exit
cb:
ldxdw %r3, [%r2+0]
add %r3, 1
stxdw [%r2+0], %r3
mov %r0, 0
exit
