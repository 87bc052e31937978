# expect: accept
# type: tc
# skb->cb[0] and cb[4] are scratch space TC programs read and write.
mov %r2, 7
stxw [%r1+48], %r2
stxw [%r1+64], %r2
ldxw %r0, [%r1+48]
exit
