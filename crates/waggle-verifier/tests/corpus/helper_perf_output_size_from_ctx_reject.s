# expect: reject
# type: tc
# maps: perf:perf_event_array:4:4:0
# A size read from skb->len is unbounded.
ldxw %r5, [%r1+0]
mov %r4, %r10
add %r4, -8
stdw [%r10-8], 0
lddw %r2, map_idx 0
mov %r3, 0
call 25
mov %r0, 0
exit
