# expect: reject bpf_ringbuf_reserve cannot be used with hash map
# type: raw
# maps: counts:hash:4:8:16
lddw %r1, map_idx 0
mov %r2, 16
mov %r3, 0
call 131

mov %r0, 0
exit
