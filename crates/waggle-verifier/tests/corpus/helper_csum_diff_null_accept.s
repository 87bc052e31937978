# expect: accept
# type: xdp
stw [%r10-4], 0x01020304
mov %r1, 0
mov %r2, 0
mov %r3, %r10
add %r3, -4
mov %r4, 4
mov %r5, 0
call 28
mov %r0, 2
exit
