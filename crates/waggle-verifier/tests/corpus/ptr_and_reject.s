# expect: reject
# type: raw
# Bitwise operations on pointers are not allowed.
mov %r1, %r10
and %r1, -8
mov %r0, 0
exit
