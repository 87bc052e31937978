# expect: reject may be NULL
# type: xdp
# maps: counts:array:4:8:4
# Key 4 is past the array's 4 entries: the lookup may fail.
stw [%r10-8], 4
mov %r2, %r10
add %r2, -8
lddw %r1, map_idx 0
call 1
ldxdw %r1, [%r0+0]
mov %r0, 2
exit
