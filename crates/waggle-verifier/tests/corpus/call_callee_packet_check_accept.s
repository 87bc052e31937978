# expect: accept
# type: xdp
# The callee proves the bounds; the caller's copy of the pointer gets them.
ldxw %r6, [%r1+0]
ldxw %r7, [%r1+4]
mov %r1, %r6
mov %r2, %r7
call local long_enough
jeq %r0, 0, out
ldxb %r0, [%r6+13]
exit
out:
mov %r0, 2
exit
long_enough:
mov %r0, 0
mov %r3, %r1
add %r3, 14
jgt %r3, %r2, short
mov %r0, 1
short:
exit
