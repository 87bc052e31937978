# expect: reject
# type: xdp
# maps: h:hash:4:4:8
# bpf_tail_call needs a prog array.
lddw %r2, map_idx 0
mov %r3, 0
call 12
mov %r0, 2
exit
