# expect: accept
# type: tc
# A subprogram reads the context passed to it in r1.
call local f
exit
f:
ldxw %r0, [%r1+0]
exit
