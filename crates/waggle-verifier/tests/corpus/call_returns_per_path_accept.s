# expect: accept
# type: raw
# maps: .bss:array:4:8:1
# The callee returns 0 or 4 on its two paths; each is followed separately, so
# the caller's index needs no check.
call local pick
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxw %r0, [%r1+0]
exit
pick:
call 7
mov %r1, %r0
mov %r0, 0
jeq %r1, 0, done
mov %r0, 4
done:
exit
