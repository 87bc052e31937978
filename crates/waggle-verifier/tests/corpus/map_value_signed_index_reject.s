# expect: reject may touch bytes -
# type: raw
# maps: .bss:array:4:16:1
# A signed check leaves negative indices possible.
call 7
jsgt %r0, 3, out
lsh %r0, 2
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
