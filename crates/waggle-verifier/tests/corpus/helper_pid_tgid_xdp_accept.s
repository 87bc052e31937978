# expect: accept
# type: xdp
# bpf_get_current_pid_tgid is in Linux's base set (6.10+): every type.
call 14
mov %r0, 2
exit
