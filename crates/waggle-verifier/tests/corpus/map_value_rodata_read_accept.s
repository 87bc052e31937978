# expect: accept
# type: raw
# maps: .rodata:array:4:16:1:rdonly
lddw %r1, map_idx_value 0, 8
ldxdw %r0, [%r1+0]
exit
