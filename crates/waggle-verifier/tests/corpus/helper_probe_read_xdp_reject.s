# expect: reject bpf_probe_read is not available to xdp programs
# type: xdp
# bpf_probe_read (4) is for tracing programs.
mov %r1, %r10
add %r1, -8
mov %r2, 8
mov %r3, 0
call 4
mov %r0, 2
exit
