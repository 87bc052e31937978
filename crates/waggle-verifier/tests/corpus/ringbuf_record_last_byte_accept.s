# expect: accept
# type: raw
# maps: events:ringbuf:0:0:4096
lddw %r1, map_idx 0
mov %r2, 24
mov %r3, 0
call 131
jeq %r0, 0, out
stb [%r0+23], 1
mov %r1, %r0
mov %r2, 0
call 132
out:
mov %r0, 0
exit
