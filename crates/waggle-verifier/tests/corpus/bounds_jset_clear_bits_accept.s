# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# Not taken, `x & ~15` is 0: x is below 16.
call 7
jset %r0, -16, out
lddw %r2, map_idx_value 0, 0
add %r2, %r0
ldxb %r0, [%r2+0]
exit
out:
mov %r0, 0
exit
