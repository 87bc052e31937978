# expect: reject multiplication on a pointer is not allowed
# type: raw
mov %r2, %r10
mul %r2, 2
mov %r0, 0
exit
