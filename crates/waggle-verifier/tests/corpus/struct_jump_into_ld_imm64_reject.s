# expect: reject the second slot of an LD_IMM64
# type: raw
# A jump to the second slot of an LD_IMM64.
mov %r0, 0
jeq %r0, 0, +1
lddw %r0, 5
exit
