# expect: accept
# type: raw
# maps: counts:hash:4:8:16
# bpf_for_each_map_elem(&counts, cb, &sum, 0): the callback gets the map
# (r1), the key (r2, 4 readable bytes), the value (r3, 8 bytes, never NULL)
# and the context (r4).
stdw [%r10-8], 0
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 164
ldxdw %r0, [%r10-8]
exit
cb:
ldxdw %r5, [%r3+0]
ldxdw %r1, [%r4+0]
add %r1, %r5
stxdw [%r4+0], %r1
ldxw %r0, [%r2+0]
mov %r0, 0
exit
