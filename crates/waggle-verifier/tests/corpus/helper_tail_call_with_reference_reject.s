# expect: reject tail call while holding
# type: xdp
# maps: jmp_table:prog_array:4:4:8 events:ringbuf:0:0:4096
mov %r6, %r1
lddw %r1, map_idx 1
mov %r2, 8
mov %r3, 0
call 131
jeq %r0, 0, out
mov %r7, %r0
mov %r1, %r6
lddw %r2, map_idx 0
mov %r3, 1
call 12
mov %r1, %r7
mov %r2, 0
call 133
out:
mov %r0, 2
exit
