# expect: reject subtraction of pointers into different regions
# type: xdp
mov %r0, %r10
sub %r0, %r1
exit
