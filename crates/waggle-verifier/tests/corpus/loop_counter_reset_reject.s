# expect: reject infinite loop
# type: raw
# The counter wraps back to 0 and the loop has no exit: it runs forever.
call 7
jeq %r0, 0, out
mov %r1, 0
loop:
add %r1, 1
jlt %r1, 5, next
mov %r1, 0
next:
ja loop
out:
mov %r0, 0
exit
