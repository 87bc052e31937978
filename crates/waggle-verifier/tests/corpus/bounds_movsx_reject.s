# expect: reject may touch bytes -
# type: raw
# maps: .bss:array:4:256:1
call 7
and %r0, 255
movsx864 %r1, %r0
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxb %r0, [%r2+0]
exit
