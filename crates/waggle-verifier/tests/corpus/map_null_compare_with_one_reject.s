# expect: reject may be NULL
# type: raw
# maps: h:hash:4:8:8
# Comparing with 1 proves nothing about NULL.
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
jeq %r0, 1, out
ldxdw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
