# expect: accept
# type: raw
# maps: .bss:array:4:16:1
call 7
jsgt %r0, 12, out
jslt %r0, 0, out
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
