# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# r2 is a copy of r0: the check on r0 bounds r2.
call 7
mov %r2, %r0
jgt %r0, 12, out
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
