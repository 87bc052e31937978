# expect: reject leaves its function
# type: raw
call local f
ja inside
exit
f:
mov %r0, 0
inside:
exit
