# expect: reject infinite loop
# type: raw
# A jump to itself never ends.
call 7
jeq %r0, 0, out
loop:
ja loop
out:
mov %r0, 0
exit
