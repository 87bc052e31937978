# expect: reject read of uninitialised stack
# type: raw
# maps: counts:hash:4:8:16
stw [%r10-4], 1
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
mov %r4, 0
lddw %r1, map_idx 0
call 2
mov %r0, 0
exit
