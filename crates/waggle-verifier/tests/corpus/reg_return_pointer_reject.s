# expect: reject the program returns a pointer
# type: raw
mov %r0, %r10
exit
