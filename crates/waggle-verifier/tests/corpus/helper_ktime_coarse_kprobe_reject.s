# expect: reject bpf_ktime_get_coarse_ns is not available to kprobe programs
# type: raw
# The coarse clock is for every program type but tracing ones.
call 160
mov %r0, 0
exit
