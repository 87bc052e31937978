# expect: accept
# type: xdp
# maps: outer:array_of_maps:4:4:8
# A lookup in a map of maps gives a map (or NULL); after the check it is
# used like the inner-map template (here a one-element array of 4-byte
# values).
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
ldxw %r1, [%r0+0]
out:
mov %r0, 2
exit
