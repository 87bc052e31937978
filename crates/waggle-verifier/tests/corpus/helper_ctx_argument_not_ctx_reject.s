# expect: reject
# type: tc
# bpf_skb_load_bytes takes the context in r1, not a stack pointer.
mov %r1, %r10
add %r1, -8
mov %r2, 0
mov %r3, %r10
add %r3, -16
mov %r4, 8
call 26
mov %r0, 0
exit
