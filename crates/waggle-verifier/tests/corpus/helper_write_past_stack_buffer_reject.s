# expect: reject
# type: raw
# 16 bytes written from fp-8 run past the frame pointer.
mov %r1, %r10
add %r1, -8
mov %r2, 16
mov %r3, 0
call 113
mov %r0, 0
exit
