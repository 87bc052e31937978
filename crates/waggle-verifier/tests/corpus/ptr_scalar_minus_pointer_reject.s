# expect: reject subtraction with a pointer operand
# type: raw
mov %r2, 100
sub %r2, %r10
mov %r0, 0
exit
