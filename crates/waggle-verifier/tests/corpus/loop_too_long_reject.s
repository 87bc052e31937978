# expect: reject too complex
# type: raw
# max_insns: 20000
mov %r1, 0
loop:
add %r1, 1
jlt %r1, 100000000, loop
mov %r0, 0
exit
