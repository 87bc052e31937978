# expect: accept
# type: raw
# maps: h:hash:4:16:8
# The last byte of a 16-byte value.
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
jeq %r0, 0, out
ldxb %r1, [%r0+15]
stb [%r0+15], 1
out:
mov %r0, 0
exit
