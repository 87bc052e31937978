# expect: accept
# type: tc
# Immediate stores (BPF_ST) into writable context fields: Linux 6.3+.
stw [%r1+8], 7
mov %r0, 0
exit
