# expect: accept
# type: xdp
# maps: ports:devmap:4:4:8
lddw %r1, map_idx 0
mov %r2, 0
mov %r3, 2
call 51
exit
