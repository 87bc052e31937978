# expect: reject r1 is read before it is written
# type: xdp
call local f
ldxw %r0, [%r1+12]
exit
f:
mov %r0, 0
exit
