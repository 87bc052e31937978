# expect: accept
# type: xdp
# maps: events:perf_event_array:4:4:4
stdw [%r10-8], 1
mov %r4, %r10
add %r4, -8
lddw %r2, map_idx 0
mov %r3, 0xffffffff
mov %r5, 8
call 25
mov %r0, 2
exit
