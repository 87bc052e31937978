# expect: accept
# type: raw
# maps: h:hash:4:8:8
# Privileged programs may store a pointer into a map value (it becomes a
# number there).
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
jeq %r0, 0, out
stxdw [%r0+0], %r0
out:
mov %r0, 0
exit
