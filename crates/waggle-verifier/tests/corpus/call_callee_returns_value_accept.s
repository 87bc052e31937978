# expect: accept
# type: raw
mov %r1, 20
call local double
exit
double:
mov %r0, %r1
add %r0, %r1
exit
