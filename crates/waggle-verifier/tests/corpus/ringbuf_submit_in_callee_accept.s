# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
# A subprogram releases the record its caller reserved.
lddw %r1, map_idx 0
mov %r2, 8
mov %r3, 0
call 131
jeq %r0, 0, out
mov %r1, %r0
call local submit
out:
mov %r0, 0
exit
submit:
mov %r2, 0
call 132
mov %r0, 0
exit
