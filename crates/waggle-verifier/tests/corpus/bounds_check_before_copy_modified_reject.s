# expect: reject
# type: raw
# maps: .bss:array:4:16:1
# r6 = r0 + 1 may be 16 when r0 <= 15.
call 7
mov %r6, %r0
add %r6, 1
jgt %r0, 15, out
lddw %r1, map_idx_value 0, 0
add %r1, %r6
ldxb %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
