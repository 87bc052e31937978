# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
lddw %r1, map_idx 0
mov %r2, 16
mov %r3, 0
call 131

jeq %r0, 0, out
mov %r6, %r0
call 7
mov %r1, %r6
mov %r2, 0
jeq %r0, 0, drop
call 132
ja out
drop:
call 133
out:
mov %r0, 0
exit
