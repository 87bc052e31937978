# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# Subtracting a constant from a map value pointer.
lddw %r1, map_idx_value 0, 12
sub %r1, 8
ldxw %r0, [%r1+0]
exit
