# expect: reject a pointer to the stack or NULL
# type: raw
# maps: .bss:array:4:16:1
# bpf_loop's context must be on the stack (or NULL).
lddw %r3, map_idx_value 0, 0
mov %r1, 4
lddw %r2, func cb
mov %r4, 0
call 181
mov %r0, 0
exit
cb:
mov %r0, 0
exit
