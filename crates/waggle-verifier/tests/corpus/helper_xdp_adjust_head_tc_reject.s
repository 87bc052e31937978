# expect: reject not available to
# type: tc
mov %r2, 4
call 44
mov %r0, 0
exit
