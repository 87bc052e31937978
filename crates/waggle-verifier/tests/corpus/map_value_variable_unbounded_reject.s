# expect: reject may touch bytes 0..32
# type: raw
# maps: .bss:array:4:16:1
call 7
and %r0, 7
lsh %r0, 2
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxw %r0, [%r1+0]
exit
