# expect: accept
# type: raw
# A signed counter from -8 up to 0.
mov %r1, -8
mov %r0, 0
loop:
add %r0, 1
add %r1, 1
jslt %r1, 0, loop
exit
