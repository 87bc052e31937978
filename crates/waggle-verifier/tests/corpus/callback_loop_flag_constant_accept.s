# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# The callback stores 12 in a slot that held 0: afterwards it is 0 or 12,
# a valid index either way.
stdw [%r10-8], 0
mov %r1, 100
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
ldxdw %r1, [%r10-8]
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxb %r0, [%r2+0]
exit
cb:
stdw [%r2+0], 12
mov %r0, 1
exit
