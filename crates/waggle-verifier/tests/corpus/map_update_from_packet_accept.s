# expect: accept
# type: xdp
# maps: h:hash:4:8:8
# Key and value passed straight from checked packet bytes.
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 16
mov %r0, 1
jgt %r4, %r3, out
lddw %r1, map_idx 0
mov %r3, %r2
add %r3, 8
mov %r4, 0
call 2
mov %r0, 2
out:
exit
