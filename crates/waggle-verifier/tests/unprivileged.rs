//! `VerifyOptions::allow_ptr_leaks: false`: Linux's rules for a loader
//! without `allow_ptr_leaks` (no `CAP_PERFMON`). Each way an address could
//! become a number the program sees is shown by a small program that
//! verifies with the default, privileged rules and is rejected without
//! `allow_ptr_leaks`, with `ErrorKind::PointerLeak`; what Linux allows such
//! loaders (NULL checks, packet bounds checks, pointers spilled to the
//! stack and passed to helpers as pointers) still verifies; and on the
//! corpus the rules only add pointer leaks (the examples and benchmark
//! programs are verified without `allow_ptr_leaks` in `examples.rs` and
//! `bench_programs.rs`).

mod common;

use common::{files, parse, parse_text, Case};
use waggle_verifier::{verify, ErrorKind, VerifyError, VerifyOptions};

fn unprivileged() -> VerifyOptions {
    VerifyOptions {
        allow_ptr_leaks: false,
        ..VerifyOptions::default()
    }
}

/// A program in the corpus format (`common/mod.rs`); its `# expect:` line
/// may be left out (every program here verifies with the privileged rules).
fn case(text: &str) -> Case {
    parse_text("unprivileged", &format!("# expect: accept\n{text}"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The text of the corpus program `name` (`tests/corpus`).
fn corpus(name: &str) -> String {
    let path = files()
        .into_iter()
        .find(|p| p.ends_with(name))
        .unwrap_or_else(|| panic!("no corpus program {name}"));
    std::fs::read_to_string(path).unwrap()
}

/// `text` verifies with the default options and is rejected without
/// `allow_ptr_leaks` as a pointer leak whose message contains `message`.
fn leaks(text: &str, message: &str) -> VerifyError {
    let c = case(text);
    if let Err(e) = verify(&c.prog, &c.maps, &VerifyOptions::default()) {
        panic!("rejected with the privileged rules:\n{e}\n{text}");
    }
    let e =
        verify(&c.prog, &c.maps, &unprivileged()).expect_err("rejected without allow_ptr_leaks");
    println!("{e}");
    assert_eq!(e.kind, ErrorKind::PointerLeak, "{e}");
    assert!(e.message.contains(message), "expected `{message}` in:\n{e}");
    assert!(e.rule.starts_with("without allow_ptr_leaks"), "{e}");
    e
}

/// `text` verifies with both rule sets.
fn accepted(text: &str) {
    let c = case(text);
    for opts in [VerifyOptions::default(), unprivileged()] {
        if let Err(e) = verify(&c.prog, &c.maps, &opts) {
            panic!("allow_ptr_leaks: {}:\n{e}\n{text}", opts.allow_ptr_leaks);
        }
    }
}

// --------------------------------------------------------------------------
// Arithmetic: only 64-bit copies and 64-bit addition and subtraction of
// numbers keep a pointer a pointer.

#[test]
fn alu32_on_a_stack_pointer() {
    // The fuzzer's program: the low half of a stack address, less a
    // constant, compared with numbers (Linux: `R3 32-bit pointer arithmetic
    // prohibited`).
    let e = leaks(
        "# type: xdp
        mov %r0, 17
        mov %r3, %r10
        add %r3, -64
        stdw [%r3+0], 1
        sub32 %r3, 0x1a
        jsgt32 %r0, %r3, out
        mov %r0, 0
        out:
        exit",
        "32-bit subtraction on the pointer in r3 would turn an address into a number",
    );
    assert_eq!(e.pc, Some(4));
    assert_eq!(e.registers[0].name, "r3");
    assert_eq!(e.registers[0].value, "fp-64");
}

#[test]
fn number_minus_pointer_at_32_bits() {
    leaks(
        "# type: raw
        mov32 %r0, 5
        sub32 %r0, %r10
        exit",
        "32-bit subtraction on the pointer in r10",
    );
}

#[test]
fn alu32_copy_of_a_pointer() {
    // Linux: `R10 partial copy of pointer`.
    leaks(
        "# type: raw
        mov32 %r0, %r10
        exit",
        "32-bit copy of the pointer in r10 would turn an address into a number",
    );
}

#[test]
fn negation_and_byte_swap_of_a_pointer() {
    // Linux: `R1 pointer arithmetic prohibited`.
    leaks(
        "# type: raw
        mov %r1, %r10
        neg %r1
        mov %r0, 0
        exit",
        "negation of the pointer in r1",
    );
    leaks(
        "# type: raw
        mov %r1, %r10
        be64 %r1
        mov %r0, %r1
        exit",
        "byte swap of the pointer in r1",
    );
}

#[test]
fn pointer_minus_pointer() {
    // Linux: `R0 pointer -= pointer prohibited`, within one region too.
    leaks(
        "# type: raw
        mov %r2, %r10
        add %r2, -16
        mov %r0, %r10
        sub %r0, %r2
        exit",
        "subtraction on the pointers in r0 and r2",
    );
    leaks(
        "# type: xdp
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r0, %r3
        sub %r0, %r2
        exit",
        "subtraction on the pointers in r0 and r2",
    );
}

#[test]
fn other_pointer_arithmetic_is_rejected_either_way() {
    // Bitwise operations, shifts, multiplication: no rule set allows them.
    for op in [
        "and %r1, 7",
        "or %r1, 7",
        "xor %r1, 7",
        "lsh %r1, 1",
        "mul %r1, 3",
        "div %r1, 3",
    ] {
        let c = case(&format!(
            "# type: raw\nmov %r1, %r10\n{op}\nmov %r0, 0\nexit"
        ));
        for opts in [VerifyOptions::default(), unprivileged()] {
            let e = verify(&c.prog, &c.maps, &opts).expect_err(op);
            assert_eq!(e.kind, ErrorKind::PointerArithmetic, "{op}: {e}");
        }
    }
}

#[test]
fn pointer_plus_and_minus_numbers_are_allowed() {
    accepted(
        "# type: raw
        mov %r1, %r10
        add %r1, -16
        mov %r2, 8
        add %r1, %r2
        sub %r1, 4
        stw [%r1+0], 3
        ldxw %r0, [%r10-12]
        exit",
    );
}

// --------------------------------------------------------------------------
// Comparisons.

#[test]
fn pointer_compared_with_a_number() {
    // Linux: `R1 pointer comparison prohibited`.
    leaks(
        "# type: xdp
        mov %r0, 2
        jeq %r1, 5, out
        mov %r0, 1
        out:
        exit",
        "comparison of the pointer in r1 with a number",
    );
    // A stack pointer is never NULL, but only maps' values and records
    // count as known not to be.
    leaks(
        "# type: raw
        mov %r0, 0
        mov %r1, %r10
        jne %r1, 0, out
        mov %r0, 1
        out:
        exit",
        "comparison of the pointer in r1 with a number",
    );
}

#[test]
fn number_compared_with_a_pointer() {
    // `0 != r0` with the constant in a register on the left: Linux checks
    // the source register first (`R0 pointer comparison prohibited`).
    leaks(
        &corpus("map_null_check_reversed_accept.s"),
        "comparison of a number with the pointer in r0",
    );
}

#[test]
fn pointers_into_one_region_compared() {
    leaks(
        "# type: raw
        mov %r1, %r10
        add %r1, -8
        mov %r2, %r10
        mov %r0, 0
        jgt %r1, %r2, out
        mov %r0, 1
        out:
        exit",
        "comparison of the pointers in r1 and r2",
    );
    // Packet pointers with data_end only as ordered bounds checks: `==`
    // says nothing of bounds in Linux's eyes.
    leaks(
        "# type: xdp
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r0, 2
        jeq %r2, %r3, out
        mov %r0, 1
        out:
        exit",
        "comparison of the pointers in r2 and r3",
    );
    // Two packet pointers.
    leaks(
        "# type: xdp
        ldxw %r2, [%r1+0]
        mov %r3, %r2
        add %r3, 4
        mov %r0, 2
        jgt %r3, %r2, out
        mov %r0, 1
        out:
        exit",
        "comparison of the pointers in r3 and r2",
    );
}

#[test]
fn null_checks_and_bounds_checks_are_allowed() {
    // A lookup's result against 0, as an immediate and as a register known
    // to be 0, and a value known not to be NULL against 0.
    accepted(
        "# type: xdp
        # maps: counts:hash:4:8:16 arr:array:4:8:4
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_idx 0
        call 1
        jeq %r0, 0, second
        ldxdw %r6, [%r0+0]
        second:
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_idx 0
        call 1
        mov %r1, 0
        jne %r0, %r1, third
        mov %r0, 2
        exit
        third:
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_idx 1
        call 1
        jne %r0, 0, out
        mov %r0, 1
        out:
        mov %r0, 2
        exit",
    );
    // Packet pointers against data_end and metadata against data, in both
    // orders, with every ordered comparison.
    accepted(
        "# type: xdp
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        ldxw %r4, [%r1+8]
        mov %r0, 2
        mov %r5, %r2
        add %r5, 14
        jgt %r5, %r3, out
        jlt %r3, %r5, out
        jge %r3, %r5, next
        exit
        next:
        jle %r5, %r3, meta
        exit
        meta:
        mov %r5, %r4
        add %r5, 4
        jgt %r5, %r2, out
        ldxw %r0, [%r4+0]
        ldxb %r0, [%r2+13]
        out:
        exit",
    );
}

// --------------------------------------------------------------------------
// Stores: a pointer is stored to the stack only.

#[test]
fn pointer_stored_into_a_map_value() {
    // Linux: `R10 leaks addr into map`.
    let e = leaks(
        "# type: raw
        # maps: h:hash:4:8:16
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_idx 0
        call 1
        jeq %r0, 0, out
        stxdw [%r0+0], %r10
        out:
        mov %r0, 0
        exit",
        "r10 (a pointer to the stack) is stored into the map value of `h`, which would leak its address",
    );
    assert_eq!(e.pc, Some(7));
}

#[test]
fn pointer_stored_into_global_data() {
    leaks(
        "# type: raw
        # maps: .bss:array:4:16:1
        lddw %r1, map_idx_value 0, 0
        stxdw [%r1+8], %r1
        mov %r0, 0
        exit",
        "r1 (a pointer to a map value) is stored into the map value of `.bss`",
    );
}

#[test]
fn pointer_stored_into_packet_data() {
    // Linux: `R2 leaks addr into packet`.
    leaks(
        "# type: tc
        ldxw %r2, [%r1+76]
        ldxw %r3, [%r1+80]
        mov %r4, %r2
        add %r4, 16
        mov %r0, 0
        jgt %r4, %r3, out
        stxdw [%r2+8], %r2
        out:
        exit",
        "r2 (a pointer to packet data) is stored into packet data",
    );
}

#[test]
fn pointer_stored_into_the_context() {
    // Linux: `R10 leaks addr into ctx` (skb->mark).
    leaks(
        "# type: tc
        stxw [%r1+8], %r10
        mov %r0, 0
        exit",
        "r10 (a pointer to the stack) is stored into the context",
    );
}

#[test]
fn pointer_stored_into_a_ring_buffer_record() {
    // Linux: `R10 leaks addr into mem`.
    leaks(
        "# type: raw
        # maps: events:ringbuf:0:0:4096
        lddw %r1, map_idx 0
        mov %r2, 16
        mov %r3, 0
        call 131
        jeq %r0, 0, out
        stxdw [%r0+0], %r10
        mov %r1, %r0
        mov %r2, 0
        call 132
        out:
        mov %r0, 0
        exit",
        "r10 (a pointer to the stack) is stored into a ring buffer record",
    );
}

#[test]
fn pointers_spilled_to_the_stack_are_allowed() {
    // Spilled and filled whole, then used as pointers: a map value and the
    // context, across a helper call.
    accepted(
        "# type: xdp
        # maps: counts:hash:4:8:16
        stxdw [%r10-16], %r1
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_idx 0
        call 1
        jeq %r0, 0, out
        stxdw [%r10-24], %r0
        call 5
        ldxdw %r1, [%r10-24]
        stxdw [%r1+0], %r0
        ldxdw %r1, [%r10-16]
        ldxw %r0, [%r1+0]
        stdw [%r10-16], 0
        out:
        mov %r0, 2
        exit",
    );
}

// --------------------------------------------------------------------------
// Spilled pointers are overwritten and read back only whole.

#[test]
fn part_of_a_spilled_pointer_overwritten() {
    // Linux: `attempt to corrupt spilled pointer on stack`.
    leaks(
        "# type: raw
        stxdw [%r10-8], %r1
        stw [%r10-8], 5
        ldxw %r0, [%r10-8]
        exit",
        "a 4-byte store at fp-8 overwrites part of the pointer spilled at fp-8",
    );
    leaks(
        "# type: raw
        stxdw [%r10-8], %r1
        stb [%r10-1], 5
        ldxw %r0, [%r10-8]
        exit",
        "a 1-byte store at fp-1 overwrites part of the pointer spilled at fp-8",
    );
}

#[test]
fn spilled_pointer_read_at_a_variable_offset() {
    // Linux: `invalid read from stack R1 var_off ...`.
    leaks(
        "# type: raw
        stdw [%r10-16], 0
        stxdw [%r10-8], %r1
        call 7
        and %r0, 15
        mov %r1, %r10
        add %r1, -16
        add %r1, %r0
        ldxb %r0, [%r1+0]
        exit",
        "a variable-offset read of stack bytes fp-16..fp+0 may touch the pointer spilled at fp-8",
    );
}

#[test]
fn spilled_pointer_written_at_a_variable_offset() {
    // Linux: `spilled ptr in range of var-offset stack write`.
    leaks(
        "# type: raw
        stdw [%r10-16], 0
        stxdw [%r10-8], %r1
        call 7
        and %r0, 8
        mov %r1, %r10
        add %r1, -16
        add %r1, %r0
        stw [%r1+0], 7
        ldxdw %r0, [%r10-16]
        exit",
        "a variable-offset write of stack bytes fp-16..fp-4 may touch the pointer spilled at fp-8",
    );
}

#[test]
fn atomic_update_of_a_spilled_pointer() {
    leaks(
        "# type: raw
        stxdw [%r10-8], %r10
        mov %r1, 8
        lock add [%r10-8], %r1
        ldxdw %r0, [%r10-8]
        exit",
        "atomic update of the pointer spilled at fp-8",
    );
}

#[test]
fn spilled_pointer_in_memory_a_helper_reads() {
    // The value bpf_map_update_elem copies into the map holds a spilled
    // pointer (Linux: `invalid indirect read from stack R3 off -16+0`).
    leaks(
        "# type: raw
        # maps: counts:hash:4:16:16
        stw [%r10-4], 1
        stxdw [%r10-16], %r10
        stdw [%r10-24], 0
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -24
        mov %r4, 0
        lddw %r1, map_idx 0
        call 2
        mov %r0, 0
        exit",
        "argument 3 of bpf_map_update_elem (r3) covers stack bytes fp-24..fp-8: the helper would read the pointer spilled at fp-16 as bytes",
    );
}

#[test]
fn helper_writes_part_of_a_spilled_pointer() {
    // bpf_get_current_comm writes 4 of the 8 bytes of a spilled pointer.
    leaks(
        "# type: raw
        stxdw [%r10-8], %r1
        mov %r1, %r10
        add %r1, -8
        mov %r2, 4
        call 16
        ldxw %r0, [%r10-4]
        exit",
        "argument 1 of bpf_get_current_comm (r1) covers stack bytes fp-8..fp-4: the helper may write part of the pointer spilled at fp-8",
    );
    // Overwriting the whole slot replaces the pointer.
    accepted(
        "# type: raw
        stxdw [%r10-8], %r1
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        call 16
        ldxdw %r0, [%r10-8]
        exit",
    );
}

// --------------------------------------------------------------------------
// Helpers: an argument taken as a number is not a pointer.

#[test]
fn pointer_as_a_helper_number() {
    // bpf_map_update_elem's flags (Linux: `R4 leaks addr into helper
    // function`): the corpus's update with the frame pointer for flags 0.
    leaks(
        &corpus("map_update_accept.s").replacen("mov %r4, 0", "mov %r4, %r10", 1),
        "argument 4 of bpf_map_update_elem (r4) is a pointer (fp+0), which would leak its address into the helper",
    );
    // bpf_tail_call's index.
    leaks(
        "# type: xdp
        # maps: jmp_table:prog_array:4:4:8
        lddw %r2, map_idx 0
        mov %r3, %r10
        call 12
        mov %r0, 2
        exit",
        "argument 3 of bpf_tail_call (r3) is a pointer",
    );
}

#[test]
fn pointer_as_bpf_loop_count_or_flags() {
    let prog = |r1: &str, r4: &str| {
        format!(
            "# type: raw
            stdw [%r10-8], 0
            {r1}
            lddw %r2, func cb
            mov %r3, %r10
            add %r3, -8
            {r4}
            call 181
            ldxdw %r0, [%r10-8]
            exit
            cb:
            mov %r0, 0
            exit"
        )
    };
    accepted(&prog("mov %r1, 10", "mov %r4, 0"));
    leaks(
        &prog("mov %r1, %r10", "mov %r4, 0"),
        "argument 1 of bpf_loop (r1) is a pointer",
    );
    leaks(
        &prog("mov %r1, 10", "mov %r4, %r10"),
        "argument 4 of bpf_loop (r4) is a pointer",
    );
}

#[test]
fn pointer_printed_by_trace_printk() {
    leaks(
        "# type: raw
        stw [%r10-4], 0x000a7825
        mov %r1, %r10
        add %r1, -4
        mov %r2, 4
        mov %r3, %r10
        call 6
        mov %r0, 0
        exit",
        "argument 3 of bpf_trace_printk (r3) is a pointer",
    );
    // On one of two paths that meet before the call: the path where r3 is
    // a number does not cover the other, although r3 is not in
    // bpf_trace_printk's prototype.
    for (taken, fall) in [("0", "%r10"), ("%r10", "0")] {
        leaks(
            &format!(
                "# type: raw
                call 7
                mov %r3, {taken}
                jeq %r0, 0, print
                mov %r3, {fall}
                print:
                stw [%r10-4], 0x000a7825
                mov %r1, %r10
                add %r1, -4
                mov %r2, 4
                call 6
                mov %r0, 0
                exit"
            ),
            "argument 3 of bpf_trace_printk (r3) is a pointer",
        );
    }
}

#[test]
fn pointers_as_helper_pointers_are_allowed() {
    // Keys and values on the stack, a map value as a key, packet data as
    // helper memory.
    accepted(
        "# type: xdp
        # maps: counts:hash:4:8:16
        stw [%r10-4], 1
        stdw [%r10-16], 0
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -16
        mov %r4, 0
        lddw %r1, map_idx 0
        call 2
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_idx 0
        call 1
        jeq %r0, 0, out
        mov %r2, %r0
        lddw %r1, map_idx 0
        call 3
        out:
        mov %r0, 2
        exit",
    );
}

// --------------------------------------------------------------------------
// The corpus (the examples are in `examples.rs`, the benchmark programs in
// `bench_programs.rs`).

/// Corpus programs that verify with the privileged rules and leak an
/// address (each rejected without `allow_ptr_leaks`).
const CORPUS_THAT_LEAKS: [&str; 10] = [
    "map_null_check_reversed_accept.s",
    "map_value_store_pointer_accept.s",
    // `__u32 len = data_end - data` as clang writes it: 32-bit copies.
    "pkt_32bit_length_accept.s",
    "pkt_length_difference_accept.s",
    "ptr_byte_swap_leaks_number_accept.s",
    "ptr_mov32_leaks_number_accept.s",
    "ptr_negate_leaks_number_accept.s",
    "ptr_packet_difference_accept.s",
    "ptr_stack_difference_accept.s",
    "stack_overwrite_spilled_pointer_accept.s",
];

#[test]
fn corpus_without_allow_ptr_leaks() {
    // The rules only add rejections, all of them pointer leaks: a program
    // rejected with the privileged rules stays rejected, and one accepted
    // is rejected only as a leak (exactly those listed).
    let mut leaking = Vec::new();
    for path in files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let c = parse(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let privileged = verify(&c.prog, &c.maps, &c.opts);
        let strict = verify(
            &c.prog,
            &c.maps,
            &VerifyOptions {
                allow_ptr_leaks: false,
                ..c.opts.clone()
            },
        );
        match (privileged, strict) {
            (Err(_), Ok(_)) => panic!("{name}: accepted only without allow_ptr_leaks"),
            (Ok(_), Err(e)) => {
                assert_eq!(e.kind, ErrorKind::PointerLeak, "{name}: {e}");
                leaking.push(name);
            }
            _ => {}
        }
    }
    assert_eq!(leaking, CORPUS_THAT_LEAKS);
}
