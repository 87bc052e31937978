# expect: accept
# type: raw
# maps: .bss:array:4:13:1
call 7
mod32 %r0, 13
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxb %r0, [%r1+0]
exit
