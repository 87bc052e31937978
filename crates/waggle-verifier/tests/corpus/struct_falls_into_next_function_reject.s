# expect: reject fall through into the next function
# type: raw
call local f
exit
f:
mov %r0, 0
g:
mov %r0, 1
exit
h:
call local g
exit
