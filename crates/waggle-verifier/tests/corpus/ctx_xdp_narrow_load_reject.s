# expect: reject whole 4-byte words
# type: xdp
# struct xdp_md is read only in whole 4-byte fields.
ldxh %r0, [%r1+16]
exit
