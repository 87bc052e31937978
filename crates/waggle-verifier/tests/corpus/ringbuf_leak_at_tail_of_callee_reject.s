# expect: reject neither submitted nor discarded
# type: raw
# maps: events:ringbuf:0:0:4096
# A record reserved in a subprogram and never released: the leak shows at
# the program's exit.
call local f
mov %r0, 0
exit
f:
lddw %r1, map_idx 0
mov %r2, 8
mov %r3, 0
call 131
mov %r0, 0
exit
