# expect: accept
# type: raw
# A kprobe reads the probed registers (struct pt_regs, 168 bytes on
# x86-64) at aligned offsets, whole or in part.
ldxdw %r0, [%r1+0]
ldxdw %r2, [%r1+160]
ldxw %r3, [%r1+4]
ldxb %r4, [%r1+167]
exit
