# expect: accept
# type: xdp
mov %r6, %r1
call local f
ldxw %r0, [%r6+12]
exit
f:
mov %r0, 0
exit
