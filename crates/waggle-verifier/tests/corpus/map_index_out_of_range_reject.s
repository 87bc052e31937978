# expect: reject map index 1 does not exist
# type: raw
# maps: counts:hash:4:8:16
lddw %r1, map_idx 1
mov %r0, 0
exit
