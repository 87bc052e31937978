# expect: reject bpf_map_lookup_elem cannot be used with prog_array map
# type: xdp
# maps: progs:prog_array:4:4:8
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

mov %r0, 2
exit
