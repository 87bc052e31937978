# expect: reject map value
# type: raw
# maps: .bss:array:4:16:1
# A number spilled in 4 bytes becomes a map value offset after the join:
# the path explored first (offset 0) makes the slot precise there, so the
# other path (offset 20, past the 16-byte value) is not pruned.
call 7
mov %r6, 20
stxw [%r10-8], %r6
jne %r0, 0, join
mov %r6, 0
stxw [%r10-8], %r6
join:
ldxw %r2, [%r10-8]
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
