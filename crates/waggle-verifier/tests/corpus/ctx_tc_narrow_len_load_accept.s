# expect: accept
# type: tc
# Parts of __sk_buff value fields may be loaded (narrow loads).
ldxb %r0, [%r1+0]
ldxh %r2, [%r1+2]
exit
