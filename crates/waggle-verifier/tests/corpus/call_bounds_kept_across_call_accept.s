# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A bound on callee-saved r6 survives a call.
call 7
mov %r6, %r0
and %r6, 12
call local f
lddw %r1, map_idx_value 0, 0
add %r1, %r6
ldxw %r0, [%r1+0]
exit
f:
mov %r0, 0
exit
