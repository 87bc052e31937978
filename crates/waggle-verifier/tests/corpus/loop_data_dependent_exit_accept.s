# expect: accept
# type: raw
# A random early exit inside a loop bounded by a counter.
mov %r6, 0
loop:
call 7
jeq %r0, 0, out
add %r6, 1
jlt %r6, 8, loop
out:
mov %r0, %r6
exit
