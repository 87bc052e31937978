# expect: reject is a map that may be NULL
# type: xdp
# maps: outer:hash_of_maps:4:4:8
# The inner map may be missing: it must be checked before it is used.
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
mov %r1, %r0
mov %r2, %r10
add %r2, -4
call 1
mov %r0, 2
exit
