# expect: reject not available to xdp programs
# type: xdp
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
mov %r5, 0
call 9
mov %r0, 2
exit
