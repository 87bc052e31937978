# expect: accept
# type: raw
# A function reference that is never called: the callback is reachable, not run.
lddw %r2, func cb
mov %r0, 0
exit
cb:
mov %r0, 0
exit
