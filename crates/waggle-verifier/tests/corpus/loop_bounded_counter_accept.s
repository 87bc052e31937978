# expect: accept
# type: raw
mov %r1, 0
mov %r0, 0
loop:
add %r0, %r1
add %r1, 1
jlt %r1, 10, loop
exit
