# expect: reject offset 4, size 8, but it is 8 bytes long
# type: xdp
# maps: counts:array:4:8:4
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

jeq %r0, 0, out
ldxdw %r1, [%r0+4]
out:
mov %r0, 2
exit
