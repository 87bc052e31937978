# expect: accept
# type: raw
# maps: counts:hash:4:8:4
# A map pointer spilled to the stack and filled back is still the map.
lddw %r1, map_idx 0
stxdw [%r10-8], %r1
stw [%r10-12], 0
mov %r2, %r10
add %r2, -12
ldxdw %r1, [%r10-8]
call 1
mov %r0, 0
exit
