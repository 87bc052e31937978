# expect: accept
# type: raw
stdw [%r10-8], 1
mov %r1, 2
lock fetch add [%r10-8], %r1
mov %r0, %r1
exit
