# expect: accept
# type: raw
# maps: .bss:array:4:16:1
# max_insns: 300
# Twenty diamonds, each leaving the context pointer or a number in a stack
# slot that the next one overwrites before anything reads it. Stores
# through a map value pointer and helper calls without stack arguments
# cannot read the frame, so the slot is dead at each join and the two
# sides meet there: 203 instructions processed (393 when such stores and
# calls counted as reading every slot).
mov %r7, %r1
call 7
jeq %r0, 0, num0
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join0
num0:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join0:
call 7
jeq %r0, 0, num1
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join1
num1:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join1:
call 7
jeq %r0, 0, num2
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join2
num2:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join2:
call 7
jeq %r0, 0, num3
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join3
num3:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join3:
call 7
jeq %r0, 0, num4
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join4
num4:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join4:
call 7
jeq %r0, 0, num5
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join5
num5:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join5:
call 7
jeq %r0, 0, num6
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join6
num6:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join6:
call 7
jeq %r0, 0, num7
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join7
num7:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join7:
call 7
jeq %r0, 0, num8
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join8
num8:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join8:
call 7
jeq %r0, 0, num9
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join9
num9:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join9:
call 7
jeq %r0, 0, num10
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join10
num10:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join10:
call 7
jeq %r0, 0, num11
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join11
num11:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join11:
call 7
jeq %r0, 0, num12
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join12
num12:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join12:
call 7
jeq %r0, 0, num13
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join13
num13:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join13:
call 7
jeq %r0, 0, num14
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join14
num14:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join14:
call 7
jeq %r0, 0, num15
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join15
num15:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join15:
call 7
jeq %r0, 0, num16
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join16
num16:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join16:
call 7
jeq %r0, 0, num17
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join17
num17:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join17:
call 7
jeq %r0, 0, num18
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join18
num18:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join18:
call 7
jeq %r0, 0, num19
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r7
ja join19
num19:
lddw %r1, map_idx_value 0, 0
stxw [%r1+0], %r0
stxdw [%r10-16], %r0
join19:
mov %r0, 0
exit
