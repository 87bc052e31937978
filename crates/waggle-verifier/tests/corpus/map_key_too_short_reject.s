# expect: reject was never written
# type: xdp
# maps: flows:hash:8:8:16
# The key is 8 bytes; only 4 are written.
stw [%r10-8], 0
mov %r2, %r10
add %r2, -8
lddw %r1, map_idx 0
call 1
mov %r0, 2
exit
