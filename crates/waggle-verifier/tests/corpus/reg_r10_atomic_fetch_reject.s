# expect: reject
# type: raw
# An atomic fetch would write its old value into r10.
stdw [%r10-8], 0
lock fetch add [%r10-8], %r10
mov %r0, 0
exit
