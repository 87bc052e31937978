# expect: reject read of uninitialised stack
# type: xdp
# maps: counts:hash:4:8:16
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
mov %r0, 2
exit
