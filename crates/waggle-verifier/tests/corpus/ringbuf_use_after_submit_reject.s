# expect: reject r6 is used after it was invalidated
# type: raw
# maps: events:ringbuf:0:0:4096
lddw %r1, map_idx 0
mov %r2, 16
mov %r3, 0
call 131

jeq %r0, 0, out
mov %r6, %r0
mov %r1, %r0
mov %r2, 0
call 132
stdw [%r6+0], 1
out:
mov %r0, 0
exit
