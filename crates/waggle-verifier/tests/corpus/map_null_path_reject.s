# expect: reject not a pointer
# type: xdp
# maps: counts:hash:4:8:4
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1

# On the NULL branch r0 is the number 0.
jne %r0, 0, out
ldxdw %r0, [%r0+0]
out:
mov %r0, 2
exit
