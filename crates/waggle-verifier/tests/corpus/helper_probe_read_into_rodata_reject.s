# expect: reject write into read-only map
# type: raw
# maps: .rodata:array:4:16:1:rdonly
lddw %r1, map_idx_value 0, 0
mov %r2, 8
mov %r3, 0
call 113
mov %r0, 0
exit
