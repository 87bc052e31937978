# expect: reject
# type: xdp
# Comparing a packet pointer with data (not data_end) proves nothing.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 8
mov %r0, 1
jgt %r4, %r2, ok
ok:
ldxb %r0, [%r2+0]
exit
