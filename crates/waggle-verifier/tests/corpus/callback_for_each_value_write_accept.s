# expect: accept
# type: raw
# maps: counts:array:4:8:16
# The callback may write the value.
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
cb:
stdw [%r3+0], 0
mov %r0, 0
exit
