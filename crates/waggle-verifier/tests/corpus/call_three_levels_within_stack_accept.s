# expect: accept
# type: xdp
# Three frames of 128 bytes: 384 bytes, within 512.
stdw [%r10-128], 0
call local f
mov %r0, 2
exit
f:
stdw [%r10-128], 0
call local g
exit
g:
stdw [%r10-128], 0
mov %r0, 0
exit
