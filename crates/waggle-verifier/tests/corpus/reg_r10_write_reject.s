# expect: reject r10 is written
# type: raw
mov %r10, 0
mov %r0, 0
exit
