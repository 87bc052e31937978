# expect: accept
# type: xdp
# maps: counts:array:4:8:4
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

# 0 != r0, written with the constant in a register on the left.
mov %r1, 0
jeq %r1, %r0, out
ldxdw %r0, [%r0+0]
exit
out:
mov %r0, 2
exit
