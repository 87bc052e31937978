# expect: reject infinite loop
# type: raw
mov %r0, 0
loop:
ja loop
