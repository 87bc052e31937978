# expect: accept
# type: raw
# A counter from 16 down to 0 ends the loop.
mov %r1, 16
mov %r0, 0
loop:
add %r0, %r1
sub %r1, 1
jne %r1, 0, loop
exit
