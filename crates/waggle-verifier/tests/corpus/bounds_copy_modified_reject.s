# expect: reject outside the 16 bytes
# type: raw
# maps: .bss:array:4:16:1
# r2 was changed after the copy, so the check on r0 does not bound it.
call 7
mov %r2, %r0
add %r2, 1
jgt %r0, 12, out
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
