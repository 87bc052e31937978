# expect: reject argument 2 of bpf_map_lookup_elem (r2) is not set
# type: raw
# maps: counts:hash:4:8:16
lddw %r1, map_idx 0
call 1
mov %r0, 0
exit
