# expect: accept
# type: raw
# bpf_loop(10, cb, &sum, 0): the callback gets the index in r1 and the
# context (a pointer to the caller's stack) in r2, and adds to it.
stdw [%r10-8], 0
mov %r1, 10
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
ldxdw %r0, [%r10-8]
exit
cb:
ldxdw %r3, [%r2+0]
add %r3, %r1
stxdw [%r2+0], %r3
mov %r0, 0
exit
