# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A 4-byte spill of a 32-bit scalar keeps its bounds (clang spills u32 locals so).
call 7
and %r0, 12
stxw [%r10-8], %r0
call 5
ldxw %r1, [%r10-8]
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxw %r0, [%r2+0]
exit
