# expect: accept
# type: xdp
# maps: counts:percpu_array:4:8:4
# Every program type may walk a map.
lddw %r1, map_idx 0
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 2
exit
cb:
mov %r0, 1
exit
