# expect: reject r1 is read before it is written
# type: raw
# Helper calls leave r1-r5 unset.
mov %r1, 5
call 7
mov %r0, %r1
exit
