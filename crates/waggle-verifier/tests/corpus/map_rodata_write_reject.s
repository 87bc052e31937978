# expect: reject write into read-only map
# type: raw
# maps: .rodata:array:4:16:1:rdonly
lddw %r1, map_idx_value 0, 4
stw [%r1+0], 1
mov %r0, 0
exit
