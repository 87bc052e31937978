# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
# Two records held at once, each released on every path where it exists.
lddw %r1, map_idx 0
mov %r2, 8
mov %r3, 0
call 131
mov %r6, %r0
lddw %r1, map_idx 0
mov %r2, 8
mov %r3, 0
call 131
mov %r7, %r0
jeq %r6, 0, a_null
mov %r1, %r6
mov %r2, 0
call 132
a_null:
jeq %r7, 0, out
mov %r1, %r7
mov %r2, 0
call 133
out:
mov %r0, 0
exit
