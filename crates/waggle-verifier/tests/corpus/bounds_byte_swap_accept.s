# expect: accept
# type: raw
# maps: .bss:array:4:256:1
# be16 of a value known to be below 256 is a multiple of 256 below 65536.
call 7
and %r0, 0xff
be16 %r0
rsh %r0, 8
lddw %r2, map_idx_value 0, 0
add %r2, %r0
ldxb %r0, [%r2+0]
exit
