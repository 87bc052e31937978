# expect: accept
# type: raw
# maps: counts:hash:4:8:16 other:hash:4:4:16
# The key passed on as another map's key.
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
cb:
lddw %r1, map_idx 1
call 1
mov %r0, 0
exit
