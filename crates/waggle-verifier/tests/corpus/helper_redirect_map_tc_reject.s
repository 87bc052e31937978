# expect: reject bpf_redirect_map is not available to sched_cls programs
# type: tc
# maps: ports:devmap:4:4:8
lddw %r1, map_idx 0
mov %r2, 0
mov %r3, 0
call 51
exit
