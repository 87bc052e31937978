# expect: reject
# type: raw
# maps: .bss:array:4:16:1
# A map value is not a map.
lddw %r1, map_idx_value 0, 0
mov %r2, %r1
call 1
mov %r0, 0
exit
