# expect: accept
# type: raw
# maps: h:hash:4:8:8
# The NULL check on r0 also proves the copy spilled to the stack
# (clang spills such pointers around calls).
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map_idx 0
call 1
stxdw [%r10-16], %r0
jeq %r0, 0, out
ldxdw %r1, [%r10-16]
ldxdw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
