# Dense compare chain, as a switch statement compiles to: for each of the
# first 512 input bytes, select one of 16 cases on its low 4 bits with a chain
# of `jeq`, and apply that case's operation to r0 (the byte is in r4).
mov %r0, 0
mov %r2, %r1
add %r2, 512
loop:
ldxb %r4, [%r1+0]
mov %r3, %r4
and %r3, 15
jeq %r3, 0, case0
jeq %r3, 1, case1
jeq %r3, 2, case2
jeq %r3, 3, case3
jeq %r3, 4, case4
jeq %r3, 5, case5
jeq %r3, 6, case6
jeq %r3, 7, case7
jeq %r3, 8, case8
jeq %r3, 9, case9
jeq %r3, 10, case10
jeq %r3, 11, case11
jeq %r3, 12, case12
jeq %r3, 13, case13
jeq %r3, 14, case14
# case 15
xor %r0, -1
ja next
case0:
add %r0, %r4
ja next
case1:
sub %r0, %r4
ja next
case2:
xor %r0, %r4
ja next
case3:
mul %r0, 3
ja next
case4:
add %r0, 0x1234
ja next
case5:
lsh %r0, 1
ja next
case6:
rsh %r0, 1
ja next
case7:
xor %r0, 0x5a5a
ja next
case8:
or %r0, %r4
ja next
case9:
sub %r0, 1
ja next
case10:
mul %r0, 5
ja next
case11:
add %r0, 77
ja next
case12:
neg %r0
ja next
case13:
mov %r5, %r0
rsh %r5, 3
xor %r0, %r5
ja next
case14:
sub %r0, 12345
next:
add %r1, 1
jlt %r1, %r2, loop
exit
