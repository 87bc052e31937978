# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A checked index spilled across a call keeps its bound.
call 7
jgt %r0, 12, out
stxdw [%r10-8], %r0
call 5
ldxdw %r2, [%r10-8]
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
