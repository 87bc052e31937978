# expect: accept
# type: raw
# maps: .rodata:array:4:8:1:rdonly .bss:array:4:16:1
lddw %r1, map_idx_value 0, 0
ldxw %r2, [%r1+4]
lddw %r3, map_idx_value 1, 8
stxw [%r3+4], %r2
mov %r0, 1
lock add [%r3+0], %r0
mov %r0, 0
exit
