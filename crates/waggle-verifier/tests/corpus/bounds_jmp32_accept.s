# expect: accept
# type: xdp
# maps: .bss:array:4:16:1
# A u32 load is zero-extended, so a 32-bit check bounds all 64 bits.
ldxw %r2, [%r1+16]
mov %r0, 0
jgt32 %r2, 12, out
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
out:
exit
