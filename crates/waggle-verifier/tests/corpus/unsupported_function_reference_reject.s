# expect: reject function references
# type: raw
lddw %r2, func cb
mov %r0, 0
exit
cb:
mov %r0, 0
exit
