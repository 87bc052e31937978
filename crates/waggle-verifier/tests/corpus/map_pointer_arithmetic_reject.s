# expect: reject arithmetic on a pointer to a map
# type: raw
# maps: counts:hash:4:8:16
lddw %r1, map_idx 0
add %r1, 8
mov %r0, 0
exit
