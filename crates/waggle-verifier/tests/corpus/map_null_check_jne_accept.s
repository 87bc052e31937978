# expect: accept
# type: raw
# maps: h:hash:4:8:8
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
jne %r0, 0, use
mov %r0, 0
exit
use:
ldxdw %r0, [%r0+0]
exit
