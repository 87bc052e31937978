# expect: reject
# type: xdp
# maps: outer:array_of_maps:4:4:8
# The inner maps' values are 4 bytes (the template's).
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
jeq %r0, 0, out
mov %r1, %r0
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
out:
mov %r0, 2
exit
