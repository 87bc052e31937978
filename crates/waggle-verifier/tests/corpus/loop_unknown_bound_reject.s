# expect: reject infinite loop
# type: raw
# while (x != 0) x++;  -- x unknown: nothing the verifier knows changes.
call 7
loop:
add %r0, 1
jne %r0, 0, loop
exit
