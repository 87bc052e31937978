# expect: accept
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# The check on a copy (r5) proves bytes for the original (r2) and for r6 = r2 + 20.
mov %r6, %r2
add %r6, 20
mov %r5, %r2
add %r5, 34
mov %r0, 2
jgt %r5, %r3, exit
ldxb %r0, [%r2+23]
ldxw %r7, [%r6+10]
exit
