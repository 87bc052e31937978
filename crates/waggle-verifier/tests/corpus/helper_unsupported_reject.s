# expect: reject callback
# type: raw
call 181
mov %r0, 0
exit
