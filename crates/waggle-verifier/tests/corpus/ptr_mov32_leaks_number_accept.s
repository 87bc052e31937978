# expect: accept
# type: raw
# A 32-bit copy of a pointer is a number (privileged Linux allows it).
mov32 %r0, %r10
exit
