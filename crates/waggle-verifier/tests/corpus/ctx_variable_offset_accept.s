# expect: accept
# type: xdp
# A variable offset may be added to the context pointer, as long as the
# result is not dereferenced.
mov %r6, %r1
call 7
and %r0, 4
add %r6, %r0
mov %r0, 2
exit
