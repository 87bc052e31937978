# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# The bound learned on r7 holds for r6, its source (clang compares one
# register of a copied pair and indexes with the other).
call 7
mov %r6, %r0
mov %r7, %r6
jgt %r7, 15, out
lddw %r1, map_idx_value 0, 0
add %r1, %r6
ldxb %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
