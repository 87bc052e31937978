# expect: reject
# type: raw
# A size must be a number.
mov %r1, %r10
add %r1, -8
mov %r2, %r10
mov %r3, 0
call 113
mov %r0, 0
exit
