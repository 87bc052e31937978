# expect: reject
# type: tc
# Helpers take the context pointer unmodified.
add %r1, 4
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 26
mov %r0, 0
exit
