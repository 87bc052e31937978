# expect: accept
# type: raw
# Format "hi\n" on the stack; extra arguments are not checked.
stw [%r10-4], 0x000a6968
mov %r1, %r10
add %r1, -4
mov %r2, 4
call 6
mov %r0, 0
exit
