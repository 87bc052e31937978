# expect: reject arithmetic on a map value or null, which may be NULL
# type: xdp
# maps: counts:hash:4:8:4
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

add %r0, 4
mov %r0, 2
exit
