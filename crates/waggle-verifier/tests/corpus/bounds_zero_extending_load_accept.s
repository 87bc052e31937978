# expect: accept
# type: raw
# maps: .bss:array:4:256:1
stdw [%r10-8], 0
call 7
stxb [%r10-8], %r0
ldxb %r1, [%r10-8]
lddw %r2, map_idx_value 0, 0
add %r2, %r1
ldxb %r0, [%r2+0]
exit
