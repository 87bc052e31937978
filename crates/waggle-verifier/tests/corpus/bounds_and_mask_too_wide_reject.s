# expect: reject
# type: raw
# maps: .bss:array:4:16:1
# x & 15 may be 15: byte 23 of a 16-byte value.
call 7
and %r0, 15
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxb %r0, [%r1+8]
exit
