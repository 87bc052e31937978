# expect: reject is read-only
# type: tc
# skb->len (offset 0) is read-only, whatever the store's form.
stw [%r1+0], 7
mov %r0, 0
exit
