# expect: reject kernel function calls
# type: raw
call kfunc 1234
mov %r0, 0
exit
