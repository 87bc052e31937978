# expect: reject r0 is read before it is written
# type: raw
stdw [%r10-8], 0
mov %r2, 1
lock cmpxchg [%r10-8], %r2
mov %r0, 0
exit
