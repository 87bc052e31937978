# expect: reject unknown helper id 9999
# type: raw
call 9999
mov %r0, 0
exit
