# expect: reject only 0 bytes are proven
# type: xdp
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]

# The check proves 34 bytes from data, not bytes after a variable offset.
mov %r4, %r2
add %r4, 34
mov %r0, 2
jgt %r4, %r3, exit
ldxb %r5, [%r2+14]
and %r5, 15
lsh %r5, 2
mov %r6, %r2
add %r6, %r5
ldxb %r0, [%r6+0]
exit
