# expect: reject maps of maps
# type: xdp
# maps: outer:array_of_maps:4:4:8
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

mov %r0, 2
exit
