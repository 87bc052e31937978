# expect: accept
# type: raw
# The callee writes the caller's stack through a pointer; the caller reads it.
mov %r1, %r10
add %r1, -8
call local fill
ldxdw %r0, [%r10-8]
exit
fill:
stdw [%r1+0], 42
mov %r0, 0
exit
