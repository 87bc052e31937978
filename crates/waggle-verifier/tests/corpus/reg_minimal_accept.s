# expect: accept
# type: raw
# The smallest valid program.
mov %r0, 0
exit
