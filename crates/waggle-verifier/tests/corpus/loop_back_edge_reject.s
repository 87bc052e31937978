# expect: reject infinite loop
# type: raw
# r1 never changes and r0 is reset every iteration: the path comes back to
# the loop head in the same state.
mov %r0, 0
mov %r1, 5
loop:
add %r0, 1
mov %r0, 0
jgt %r1, 0, loop
exit
