# expect: reject modified context pointer
# type: xdp
mov %r6, %r1
call 7
and %r0, 4
add %r6, %r0
ldxw %r0, [%r6+0]
exit
