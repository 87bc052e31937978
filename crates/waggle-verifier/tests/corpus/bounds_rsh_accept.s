# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A 32-bit value shifted right by 28 is at most 15.
call 7
rsh32 %r0, 28
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxb %r0, [%r1+0]
exit
