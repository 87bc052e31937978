# expect: reject run past its last instruction
# type: raw
# The last instruction is a conditional jump: when not taken, execution
# would continue past the end.
top:
mov %r0, 0
jeq %r0, 1, top
