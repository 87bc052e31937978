# expect: reject egress_ifindex
# type: xdp
# egress_ifindex is only for XDP programs run from a devmap.
ldxw %r0, [%r1+20]
exit
