# expect: reject infinite loop
# type: raw
mov %r1, 0
mov %r0, 0
loop:
add %r0, 1
and %r0, 1
jeq %r1, 0, loop
exit
