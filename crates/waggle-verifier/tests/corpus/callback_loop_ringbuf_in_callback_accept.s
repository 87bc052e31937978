# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
# A callback reserves and submits a record on every call.
mov %r1, 3
lddw %r2, func cb
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 0
exit
cb:
lddw %r1, map_idx 0
mov %r2, 8
mov %r3, 0
call 131
jeq %r0, 0, out
mov %r1, %r0
mov %r2, 0
call 132
out:
mov %r0, 0
exit
