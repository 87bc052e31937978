# expect: reject r0 is not set at exit
# type: raw
mov %r1, 1
exit
