# expect: accept
# type: raw
# maps: .bss:array:4:16:1
call 7
and %r0, 7
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxb %r0, [%r1+8]
exit
