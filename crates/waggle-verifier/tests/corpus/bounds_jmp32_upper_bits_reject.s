# expect: reject outside the 16 bytes
# type: raw
# maps: .bss:array:4:16:1
# A 32-bit check says nothing of the upper half of a 64-bit value.
call 7
jgt32 %r0, 12, out
lddw %r1, map_idx_value 0, 0
add %r1, %r0
ldxw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
