# expect: accept
# type: xdp
# maps: jmp_table:prog_array:4:4:8
lddw %r2, map_idx 0
mov %r3, 1
call 12
mov %r0, 2
exit
