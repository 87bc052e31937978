# expect: accept
# type: raw
# maps: q:queue:0:8:16
stdw [%r10-8], 5
mov %r2, %r10
add %r2, -8
lddw %r1, map_idx 0
mov %r3, 0
call 87
mov %r2, %r10
add %r2, -16
lddw %r1, map_idx 0
call 88
ldxdw %r0, [%r10-16]
exit
