# expect: reject r2 is read before it is written
# type: raw
mov %r0, %r2
exit
