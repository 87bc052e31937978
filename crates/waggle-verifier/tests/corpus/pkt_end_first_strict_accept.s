# expect: accept
# type: xdp
# `if (data_end < data + 14) drop;` with data_end first.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
mov %r0, 1
jlt %r3, %r4, out
ldxh %r0, [%r2+12]
out:
exit
