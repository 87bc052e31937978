# expect: reject outside the frame
# type: raw
# The context points at fp-8 of the caller: ctx + 8 is past its frame.
stdw [%r10-8], 0
mov %r1, 4
lddw %r2, func cb
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 181
mov %r0, 0
exit
cb:
stdw [%r2+8], 1
mov %r0, 0
exit
