# expect: accept
# type: socket
# Socket filters may write skb->cb too.
mov %r2, 7
stxw [%r1+52], %r2
ldxw %r0, [%r1+52]
exit
