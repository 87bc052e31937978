# expect: reject r3 is read before it is written
# type: raw
call 7
jeq %r0, 0, skip
mov %r3, 1
skip:
mov %r0, %r3
exit
