# expect: reject misaligned atomic access
# type: raw
# maps: .bss:array:4:16:1
lddw %r1, map_idx_value 0, 0
mov %r2, 1
lock add [%r1+4], %r2
mov %r0, 0
exit
