# expect: reject
# type: xdp
# Adding a variable to a checked packet pointer makes a new pointer with
# no proven bytes: it needs its own check.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 64
mov %r0, 1
jgt %r4, %r3, out
ldxb %r5, [%r2+0]
add %r2, %r5
ldxb %r0, [%r2+0]
out:
exit
