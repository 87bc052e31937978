# expect: accept
# type: raw
# number + pointer is a pointer (addition commutes).
mov %r1, -8
add %r1, %r10
stdw [%r1+0], 1
ldxdw %r0, [%r10-8]
exit
