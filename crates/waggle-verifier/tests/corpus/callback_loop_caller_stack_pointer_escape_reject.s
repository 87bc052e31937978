# expect: reject
# type: raw
# A callback returns a number in [0, 1], never a pointer.
mov %r1, 1
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 0
exit
cb:
mov %r0, %r10
exit
