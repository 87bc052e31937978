# expect: reject outside the frame
# type: raw
stdw [%r10-520], 0
mov %r0, 0
exit
