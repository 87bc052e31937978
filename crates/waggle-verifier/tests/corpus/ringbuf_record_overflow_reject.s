# expect: reject offset 16, size 4, but it is 16 bytes long
# type: raw
# maps: events:ringbuf:0:0:4096
lddw %r1, map_idx 0
mov %r2, 16
mov %r3, 0
call 131

jeq %r0, 0, out
stw [%r0+16], 1
mov %r1, %r0
mov %r2, 0
call 132
out:
mov %r0, 0
exit
