# expect: accept
# type: raw
# maps: .bss:array:4:16:1:wronly
lddw %r1, map_idx_value 0, 0
stw [%r1+0], 1
mov %r0, 0
exit
