# expect: reject misaligned stack access
# type: raw
stw [%r10-6], 0
mov %r0, 0
exit
