# expect: reject only 8 bytes are proven
# type: xdp
# Bytes 6..10, but only 8 are proven.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 8
mov %r0, 1
jgt %r4, %r3, out
ldxw %r0, [%r2+6]
out:
exit
