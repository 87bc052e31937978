# expect: reject argument 2 of bpf_loop (r2) is not set
# r1 (the context at entry) is set, r2 is not.
# type: raw
call 181
mov %r0, 0
exit
