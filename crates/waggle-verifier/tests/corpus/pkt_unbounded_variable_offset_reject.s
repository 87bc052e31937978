# expect: reject only 0 bytes are proven
# type: xdp
# The offset may exceed 64 KiB, so the comparison proves nothing.
mov %r9, %r1
ldxw %r2, [%r1+0]
mov %r6, %r2
call 7
rsh %r0, 40
add %r6, %r0
mov %r4, %r6
add %r4, 1
mov %r0, 2
ldxw %r3, [%r9+4]
jgt %r4, %r3, exit
ldxb %r0, [%r6+0]
exit
