# expect: reject
# type: raw
# maps: h:hash:8:8:8 .bss:array:4:16:1
# An 8-byte key at offset 12 of a 16-byte value runs past it.
lddw %r6, map_idx_value 1, 12
lddw %r1, map_idx 0
mov %r2, %r6
call 1
mov %r0, 0
exit
