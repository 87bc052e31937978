# expect: reject may be NULL
# type: xdp
# maps: outer:array_of_maps:4:4:8
# Key 1 is past the inner array template's single entry: the lookup may
# fail.
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
jeq %r0, 0, out
mov %r1, %r0
stw [%r10-8], 1
mov %r2, %r10
add %r2, -8
call 1
ldxw %r1, [%r0+0]
out:
mov %r0, 2
exit
