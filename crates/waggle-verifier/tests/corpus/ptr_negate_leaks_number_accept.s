# expect: accept
# type: raw
# Negating a pointer gives a number, as Linux allows privileged programs;
# it can no longer be dereferenced.
mov %r1, %r10
neg %r1
mov %r0, 0
exit
