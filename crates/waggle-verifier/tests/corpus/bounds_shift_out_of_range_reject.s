# expect: reject shift by 64 is out of range
# type: raw
mov %r0, 5
lsh %r0, 64
exit
