# expect: reject bpf_skb_load_bytes is not available to xdp programs
# type: xdp
stdw [%r10-8], 0
mov %r3, %r10
add %r3, -8
mov %r2, 0
mov %r4, 8
call 26
mov %r0, 2
exit
