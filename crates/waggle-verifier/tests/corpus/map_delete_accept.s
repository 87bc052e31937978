# expect: accept
# type: tc
# maps: h:hash:4:8:8
stw [%r10-4], 1
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 3
mov %r0, 0
exit
