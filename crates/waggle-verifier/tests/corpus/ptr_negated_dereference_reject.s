# expect: reject is not a pointer
# type: raw
mov %r1, %r10
neg %r1
neg %r1
ldxdw %r0, [%r1-8]
exit
