# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# A subprogram may return a pointer that outlives it (a map value).
call local get
ldxw %r0, [%r0+0]
exit
get:
lddw %r0, map_idx_value 0, 0
exit
