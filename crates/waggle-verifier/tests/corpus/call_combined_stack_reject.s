# expect: reject combined stack of 3 nested calls is 768 bytes
# type: xdp
stdw [%r10-256], 0
call local f
mov %r0, 0
exit
f:
stdw [%r10-256], 0
call local g
exit
g:
stdw [%r10-256], 0
mov %r0, 0
exit
