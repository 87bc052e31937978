# expect: reject division by the constant zero
# type: raw
mov %r0, 5
div %r0, 0
exit
