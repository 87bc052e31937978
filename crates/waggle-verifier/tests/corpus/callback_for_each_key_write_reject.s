# expect: reject
# type: raw
# maps: counts:hash:4:8:16
# The key is read-only.
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
cb:
stw [%r2+0], 0
mov %r0, 0
exit
