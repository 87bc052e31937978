# expect: reject the registers of the probed task are read-only
# type: raw
mov %r2, 0
stxdw [%r1+0], %r2
mov %r0, 0
exit
