# expect: reject r10 is written
# type: raw
add %r10, -8
mov %r0, 0
exit
