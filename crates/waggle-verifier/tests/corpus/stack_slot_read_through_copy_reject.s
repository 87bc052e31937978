# expect: reject
# type: raw
# The slot at fp-16 holds the context on one side and a number on the
# other; after the join it is read through a copy of r10, so it is live
# there and the number side is not pruned: dereferencing it is an error.
mov %r7, %r1
call 7
jeq %r0, 0, num
stxdw [%r10-16], %r7
ja join
num:
stxdw [%r10-16], %r0
join:
mov %r2, %r10
ldxdw %r1, [%r2-16]
ldxdw %r0, [%r1+0]
exit
