# expect: reject may be NULL
# type: xdp
# maps: counts:array:4:8:4
# A key the verifier does not know may be out of range.
call 7
and %r0, 3
stxw [%r10-4], %r0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
ldxdw %r1, [%r0+0]
mov %r0, 2
exit
