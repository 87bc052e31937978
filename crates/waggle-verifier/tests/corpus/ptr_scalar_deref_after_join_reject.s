# expect: reject is not a pointer
# type: raw
# Two paths reach a conditional jump, which is a prune point, with r6 = 0
# (explored first: the jump skips the access) and r6 = 1 (the access
# dereferences a number). The state kept at the jump by the first path has
# r6 precise (its comparison had one possible outcome), so it does not
# cover the second path.
call 7
mov %r6, 0
jne %r0, 0, one
ja join
one:
mov %r6, 1
join:
jeq %r6, 0, out
ldxb %r0, [%r6+0]
exit
out:
mov %r0, 0
exit
