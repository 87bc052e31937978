# Stack memory and data-dependent branches: sieve of Eratosthenes over the
# numbers below 512, one flag byte each in [r10-512, r10).
# r0 = (count of primes << 32) + sum of primes.
# Clear the flags, 8 bytes at a time.
mov %r1, %r10
sub %r1, 512
clear:
stdw [%r1+0], 0
add %r1, 8
jlt %r1, %r10, clear
mov %r6, %r10
sub %r6, 512
mov %r0, 0
mov %r7, 0
mov %r1, 2
candidate:
mov %r3, %r6
add %r3, %r1
ldxb %r4, [%r3+0]
jne %r4, 0, next
# r1 is prime
add %r0, %r1
add %r7, 1
mov %r2, %r1
mul %r2, %r1
jge %r2, 512, next
mark:
mov %r3, %r6
add %r3, %r2
stb [%r3+0], 1
add %r2, %r1
jlt %r2, 512, mark
next:
add %r1, 1
jlt %r1, 512, candidate
lsh %r7, 32
add %r0, %r7
exit
