# expect: reject r7 is used after it was invalidated
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

mov %r4, %r2
add %r4, 14
mov %r0, 2
jgt %r4, %r3, exit
mov %r6, %r1
mov %r7, %r2
mov %r2, 14
call 44
mov %r2, %r7
ldxb %r0, [%r2+0]
exit
