# expect: reject may be NULL
# type: raw
# maps: h:hash:4:8:8
# A value that may be NULL passed as bpf_map_update_elem's value.
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
mov %r3, %r0
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
mov %r4, 0
call 2
mov %r0, 0
exit
