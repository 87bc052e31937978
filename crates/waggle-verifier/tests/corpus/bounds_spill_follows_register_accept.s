# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# Spilled before the check, filled after: the spill is a copy of r0.
call 7
stxdw [%r10-8], %r0
jgt %r0, 12, out
ldxdw %r1, [%r10-8]
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxw %r0, [%r2+0]
exit
out:
mov %r0, 0
exit
