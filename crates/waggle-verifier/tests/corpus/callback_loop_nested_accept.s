# expect: accept
# type: raw
# bpf_loop inside a bpf_loop callback, the context passed on.
stdw [%r10-8], 0
mov %r1, 3
lddw %r2, func outer
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
ldxdw %r0, [%r10-8]
exit
outer:
mov %r1, 2
mov %r3, %r2
lddw %r2, func inner
mov %r4, 0
call 181
mov %r0, 0
exit
inner:
ldxdw %r3, [%r2+0]
add %r3, 1
stxdw [%r2+0], %r3
mov %r0, 0
exit
