# expect: accept
# type: xdp
# maps: counts:array:4:8:4
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

# The check on the copy r6 refines r0 too.
mov %r6, %r0
jne %r6, 0, found
mov %r0, 2
exit
found:
ldxdw %r0, [%r0+0]
exit
