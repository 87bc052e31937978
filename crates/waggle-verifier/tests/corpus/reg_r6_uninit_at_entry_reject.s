# expect: reject r6 is read before it is written
# type: raw
mov %r0, %r6
exit
