# expect: reject bpf_spin_lock is not supported
# type: raw
call 93
mov %r0, 0
exit
