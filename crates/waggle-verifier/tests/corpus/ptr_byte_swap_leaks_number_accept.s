# expect: accept
# type: raw
# A byte-swapped pointer is a number.
mov %r1, %r10
be64 %r1
mov %r0, %r1
exit
