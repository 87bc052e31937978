# expect: accept
# type: tc
# maps: counts:percpu_array:4:8:1
# Zeroed stack bytes are the constant key 0.
mov %r3, 0
stxw [%r10-4], %r3
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
mov %r1, 1
lock add [%r0+0], %r1
mov %r0, 0
exit
