# expect: reject may be NULL
# type: xdp
# maps: counts:hash:4:8:4
# A hash lookup may fail whatever the key.
stw [%r10-8], 0
mov %r2, %r10
add %r2, -8
lddw %r1, map_idx 0
call 1
ldxdw %r1, [%r0+0]
mov %r0, 2
exit
