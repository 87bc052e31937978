# expect: accept
# type: xdp
mov %r1, 3
call local double
exit
double:
mov %r0, %r1
add %r0, %r1
exit
