# expect: accept
# type: raw
mov32 %r1, 100
loop:
sub32 %r1, 1
jne32 %r1, 0, loop
mov %r0, 0
exit
