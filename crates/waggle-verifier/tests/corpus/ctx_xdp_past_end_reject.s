# expect: reject past the end of struct xdp_md
# type: xdp
ldxw %r0, [%r1+24]
exit
