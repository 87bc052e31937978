# expect: accept
# type: raw
# maps: h:hash:4:8:8 .bss:array:4:16:1
# A key may live in a map value (here global data).
lddw %r6, map_idx_value 1, 0
stw [%r6+0], 3
lddw %r1, map_idx 0
mov %r2, %r6
call 1
mov %r0, 0
exit
