# expect: reject
# type: xdp
# ctx->data is read-only.
mov %r2, 0
stxw [%r1+0], %r2
mov %r0, 2
exit
