# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A 32-bit move zero-extends: a 32-bit bound on the subregister bounds the
# whole register (clang's 32-bit subregister code).
call 7
mov32 %r2, %r0
jgt32 %r2, 12, out
lddw %r1, map_idx_value 0, 0
add %r1, %r2
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
