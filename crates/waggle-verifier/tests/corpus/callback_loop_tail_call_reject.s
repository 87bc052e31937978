# expect: reject bpf_tail_call in a callback
# type: xdp
# maps: jmp:prog_array:4:4:4
# The context reaches the callback through the caller's stack, but a tail
# call from inside bpf_loop's callback is not allowed.
stxdw [%r10-8], %r1
mov %r1, 1
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
mov %r0, 2
exit
cb:
ldxdw %r1, [%r2+0]
lddw %r2, map_idx 0
mov %r3, 0
call 12
mov %r0, 0
exit
