# expect: reject immediate stores
# type: tc
stw [%r1+8], 7
mov %r0, 0
exit
