# Internet checksum (RFC 1071) of the r2 bytes at r1, in the uBPF syntax.
# With an IPv4 header whose checksum field is zero, the result is the value
# that belongs in that field.
    mov %r0, 0              # running sum
    mov %r3, %r1            # cursor
    mov %r4, %r1
    add %r4, %r2            # end of the buffer
words:
    mov %r5, %r3
    add %r5, 1
    jge %r5, %r4, tail      # fewer than two bytes left
    ldxb %r6, [%r3]
    lsh %r6, 8
    ldxb %r7, [%r3+1]
    or %r6, %r7
    add %r0, %r6            # add the big-endian 16-bit word
    add %r3, 2
    ja words
tail:
    jge %r3, %r4, fold
    ldxb %r6, [%r3]         # odd length: pad the last byte with zero
    lsh %r6, 8
    add %r0, %r6
fold:
    mov %r5, %r0
    rsh %r5, 16
    jeq %r5, 0, done
    and %r0, 0xffff         # fold the carries back into the low 16 bits
    add %r0, %r5
    ja fold
done:
    xor %r0, 0xffff
    exit
