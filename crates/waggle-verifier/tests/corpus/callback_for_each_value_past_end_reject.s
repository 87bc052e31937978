# expect: reject
# type: raw
# maps: counts:array:4:8:16
# Bytes 8..16 of an 8-byte value.
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
cb:
ldxdw %r0, [%r3+8]
mov %r0, 0
exit
