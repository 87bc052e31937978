# expect: reject r2 is read before it is written
# type: raw
mov %r1, 1
call local f
exit
f:
mov %r0, %r2
exit
