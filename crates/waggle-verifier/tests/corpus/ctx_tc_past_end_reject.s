# expect: reject past the end
# type: tc
ldxw %r0, [%r1+192]
exit
