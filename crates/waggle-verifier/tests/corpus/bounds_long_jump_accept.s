# expect: accept
# type: raw
call 7
jeq %r0, 0, zero
mov %r0, 1
ja32 done
zero:
mov %r0, 2
done:
exit
