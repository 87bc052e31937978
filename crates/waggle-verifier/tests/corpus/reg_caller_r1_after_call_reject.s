# expect: reject r1 is read before it is written
# type: raw
# r1-r5 are clobbered by a bpf-to-bpf call too.
call local f
mov %r0, %r1
exit
f:
mov %r0, 0
exit
