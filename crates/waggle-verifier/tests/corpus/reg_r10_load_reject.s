# expect: reject r10 is written
# type: raw
ldxdw %r10, [%r1+0]
mov %r0, 0
exit
