# expect: accept
# type: tc
# TC programs write packet bytes after a bounds check.
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r4, %r2
add %r4, 14
mov %r0, 0
jgt %r4, %r3, out
sth [%r2+12], 8
out:
exit
