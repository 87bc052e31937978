# expect: reject read from write-only map
# type: raw
# maps: .bss:array:4:16:1:wronly
lddw %r1, map_idx_value 0, 0
ldxw %r0, [%r1+0]
exit
