# expect: accept
# type: raw
# r6-r9 survive helper calls.
mov %r6, 5
call 7
mov %r0, %r6
exit
