# expect: accept
# type: raw
# The fall-through is never taken but is reachable in the control flow
# graph: not dead code.
mov %r0, 0
jeq %r0, 0, out
mov %r0, 1
out:
exit
