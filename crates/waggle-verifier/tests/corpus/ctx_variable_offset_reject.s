# expect: reject variable offset added to the context pointer
# type: xdp
mov %r6, %r1
call 7
and %r0, 4
add %r6, %r0
mov %r0, 2
exit
