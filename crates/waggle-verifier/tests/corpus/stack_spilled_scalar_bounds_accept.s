# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# Bounds survive a spill and fill: the index stays in [0, 12].
call 7
and %r0, 3
stxdw [%r10-8], %r0
call 5
ldxdw %r1, [%r10-8]
lsh %r1, 2
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxw %r0, [%r2+0]
exit
