# expect: accept
# type: xdp
# maps: counts:array:4:8:4
# An array lookup with a constant key below max_entries cannot fail
# (Linux 6.14+): the value is used without a NULL check.
stw [%r10-8], 3
mov %r2, %r10
add %r2, -8
lddw %r1, map_idx 0
call 1
ldxdw %r1, [%r0+0]
mov %r0, 2
exit
