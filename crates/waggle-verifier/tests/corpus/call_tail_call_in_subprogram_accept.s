# expect: accept
# type: xdp
# maps: jmp_table:prog_array:4:4:8
call local dispatch
mov %r0, 2
exit
dispatch:
lddw %r2, map_idx 0
mov %r3, 0
call 12
mov %r0, 0
exit
