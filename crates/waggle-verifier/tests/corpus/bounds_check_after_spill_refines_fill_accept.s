# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# The check happens after the spill; the filled copy is bounded too
# (spilled scalars stay linked to their register).
call 7
stxdw [%r10-8], %r0
jgt %r0, 12, out
ldxdw %r2, [%r10-8]
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
