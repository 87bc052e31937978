# expect: reject outside the frame
# type: raw
stw [%r10+0], 0
mov %r0, 0
exit
