# expect: reject returns a stack pointer
# type: raw
call local f
mov %r0, 0
exit
f:
mov %r0, %r10
add %r0, -8
exit
