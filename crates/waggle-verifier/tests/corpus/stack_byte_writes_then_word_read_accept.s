# expect: accept
# type: raw
# Four byte stores initialise the word read after them.
stb [%r10-4], 1
stb [%r10-3], 2
stb [%r10-2], 3
stb [%r10-1], 4
ldxw %r0, [%r10-4]
exit
