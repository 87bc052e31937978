# expect: reject
# type: raw
# As stack_slot_read_through_copy_reject.s, but the copy of r10 is spilled
# first and loaded back: a stack pointer loaded from memory reads the
# frame too.
mov %r7, %r1
mov %r3, %r10
stxdw [%r10-24], %r3
call 7
jeq %r0, 0, num
stxdw [%r10-16], %r7
ja join
num:
stxdw [%r10-16], %r0
join:
ldxdw %r2, [%r10-24]
ldxdw %r1, [%r2-16]
ldxdw %r0, [%r1+0]
exit
