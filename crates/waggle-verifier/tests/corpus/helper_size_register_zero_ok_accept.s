# expect: accept
# type: raw
# bpf_probe_read_kernel takes a size that may be zero.
mov %r1, %r10
add %r1, -8
mov %r2, 0
mov %r3, 0
call 113
mov %r0, 0
exit
