# expect: accept
# type: raw
# maps: .bss:array:4:16:1
call 7
and32 %r0, 12
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxw %r0, [%r1+0]
exit
