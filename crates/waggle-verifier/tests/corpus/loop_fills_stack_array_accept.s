# expect: accept
# type: raw
# for (i = 0; i < 8; i++) buf[i] = i; return buf[7];
mov %r1, 0
loop:
mov %r2, %r10
add %r2, -8
add %r2, %r1
stxb [%r2+0], %r1
add %r1, 1
jlt %r1, 8, loop
ldxb %r0, [%r10-1]
exit
