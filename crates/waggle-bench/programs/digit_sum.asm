# Division and modulo by an immediate: r0 = sum of the decimal digits of
# n * 1000003 for n = 1..=200, one `mod 10` and one `div 10` per digit.
mov %r0, 0
mov %r1, 1
number:
mov %r3, %r1
mul %r3, 1000003
digit:
mov %r4, %r3
mod %r4, 10
add %r0, %r4
div %r3, 10
jne %r3, 0, digit
add %r1, 1
jle %r1, 200, number
exit
