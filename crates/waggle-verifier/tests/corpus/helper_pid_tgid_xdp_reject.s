# expect: reject bpf_get_current_pid_tgid is not available to xdp programs
# type: xdp
call 14
mov %r0, 2
exit
