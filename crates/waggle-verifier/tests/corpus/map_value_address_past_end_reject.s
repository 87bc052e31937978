# expect: reject past the 16-byte value
# type: raw
# maps: .bss:array:4:16:1
lddw %r1, map_idx_value 0, 16
mov %r0, 0
exit
