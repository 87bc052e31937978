# expect: reject context access for kprobe programs is not supported
# type: raw
ldxdw %r0, [%r1+0]
exit
