# expect: reject
# type: raw
mov %r1, %r10
rsh %r1, 3
mov %r0, 0
exit
