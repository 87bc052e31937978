# expect: reject infinite loop
# type: raw
# A bpf_loop call inside a loop that never ends: the helper is bounded,
# the loop around it is not.
call 7
jeq %r0, 0, out
loop:
mov %r1, 1
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 181
ja loop
out:
mov %r0, 0
exit
cb:
mov %r0, 0
exit
