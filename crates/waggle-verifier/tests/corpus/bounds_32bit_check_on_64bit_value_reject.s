# expect: reject
# type: raw
# maps: .bss:array:4:16:1
# A 32-bit check bounds only the low half: the upper 32 bits are still
# unknown.
call 7
mov %r2, %r0
lsh %r2, 32
or %r2, 5
jgt32 %r2, 12, out
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
