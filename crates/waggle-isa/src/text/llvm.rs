//! The BPF assembly syntax of LLVM: what `llvm-objdump -d` prints and what
//! `llvm-mc -triple bpfel` and clang inline assembly accept.
//!
//! [`format_insn`] prints exactly what `llvm-objdump-19 -d --mcpu=v4` prints
//! for every instruction LLVM can print faithfully, without the branch target
//! annotation (`<LBB0_2>`). `--mcpu=v4` (or any `-mcpu` with ALU32) is the mode
//! that prints 32-bit atomics at all, and it names the 32-bit value of narrow
//! loads and stores `w` (`w0 = *(u32 *)(r1 + 0x2)`, `*(u8 *)(r10 - 0x8) = w1`).
//! Every number is hexadecimal, as LLVM prints it: immediates and helper ids
//! signed (`r0 = -0x5`, `call 0x5`), branch offsets with their sign (`goto +0x3`).
//!
//! | Class            | Spelling                                                              |
//! |------------------|-----------------------------------------------------------------------|
//! | ALU              | `r0 = r1`, `w0 = 0x5`, `r0 += r1`, `w0 -= 0x1`; also `*= /= s/= %= s%= \|= &= ^= <<= >>= s>>=` |
//! | negation         | `r0 = -r0`, `w0 = -w0`                                                |
//! | sign-extend move | `r0 = (s8)r1`, `(s16)`, `(s32)`; `w0 = (s8)w1`, `(s16)`               |
//! | byte order       | `r0 = be16 r0`, `le32`, `bswap64`, …                                  |
//! | 64-bit constant  | `r0 = 0x1122334455667788 ll`                                          |
//! | loads            | `w0 = *(u32 *)(r1 + 0x2)`, `r0 = *(u64 *)(r1 - 0x8)`, `r0 = *(s16 *)(r1 + 0x0)` |
//! | stores           | `*(u64 *)(r10 - 0x8) = r1`, `*(u8 *)(r10 - 0x8) = w1`, `*(u32 *)(r1 + 0x0) = 0x5` |
//! | atomics          | `lock *(u64 *)(r10 - 0x8) += r1` (`\|= &= ^=`), `w1 = atomic_fetch_and((u32 *)(r2 + 0x0), w1)`, `r1 = xchg_64(r10 - 0x8, r1)`, `w1 = xchg32_32(…)`, `r0 = cmpxchg_64(r10 - 0x8, r0, r1)`, `w0 = cmpxchg32_32(…)` |
//! | jumps            | `goto +0x3`, `gotol -0x4`, `if r1 > 0x5 goto +0x3`, `if w1 s< w2 goto -0x4`, `if r1 & 0x2 goto +0x1` |
//! | packet loads     | `r0 = *(u8 *)skb[0xc]`, `r0 = *(u16 *)skb[r1]`                        |
//! | calls            | `call 0x5` (helper), `callx r1`, `exit`                               |
//!
//! Where LLVM has no faithful spelling, Waggle extends the syntax in the same
//! style (LLVM prints the left-hand forms, which lose information):
//!
//! | Instruction                 | LLVM prints                 | Waggle prints and accepts            |
//! |-----------------------------|-----------------------------|--------------------------------------|
//! | local call (`src = 1`)      | `call -0x3`, like a helper  | `call pc-0x3`                        |
//! | kfunc call (`src = 2`)      | `call 0x4d`, module lost    | `call kfunc(0x4d, 0x1)` (BTF id, module index) |
//! | `LD_IND` with an immediate  | `skb[r1]`, immediate lost   | `r0 = *(u16 *)skb[r1 + 0xc]`         |
//! | map by fd (`src = 1`)       | `ld_pseudo r1, 0x1, 0x3`    | `r1 = map_fd(0x3) ll`                |
//! | map value (`src = 2`)       | second immediate lost       | `r1 = map_value(0x3, 0x10) ll` (fd, offset) |
//! | kernel variable (`src = 3`) | second immediate lost       | `r1 = btf_id(0x5, 0x0) ll` (BTF id, BTF object fd) |
//! | function address (`src = 4`)| `ld_pseudo r1, 0x4, 0x4`    | `r1 = func(pc+0x4) ll`               |
//! | map by index (`src = 5`)    | `ld_pseudo r1, 0x5, 0x0`    | `r1 = map_idx(0x0) ll`               |
//! | map value by index (`src = 6`) | second immediate lost    | `r1 = map_idx_value(0x0, 0x8) ll` (index, offset) |
//!
//! The assembler accepts all of the above, LLVM's `ld_pseudo rN, SRC, IMM`,
//! and the variants LLVM prints without ALU32 (`r0 = *(u32 *)…`,
//! `*(u32 *)… = r1`, `lock *(u32 *)… += r1`). Numbers are decimal or `0x`
//! hexadecimal, optionally signed; a 32-bit field takes any value that fits
//! `i32` or `u32`, a 64-bit constant any value that fits `i64` or `u64`, and
//! offsets must fit their signed field (`gotol` takes 32 bits). A branch
//! target is a label or a signed slot offset relative to the next slot
//! (`LD_IMM64` occupies two); `call NAME` and `func(NAME)` refer to a label
//! too. `#`, `//` and `;` start a comment. A label is a name and `:` at the
//! start of a line. Lines copied from `llvm-objdump -d` are accepted: the
//! leading slot number and raw bytes (`12:\tbf 10 00 00 00 00 00 00\tr0 = r1`),
//! a trailing target annotation (`goto +0x3 <LBB0_2>`), symbol headers
//! (`0000000000000000 <prog>:`, a label) and relocation lines from `-r`.

use crate::text::{AsmError, AsmErrorKind};
use crate::{
    AluOp, AtomicOp, CallTarget, EndianOp, Insn, JmpCond, LdImm64, MemSize, Reg, Source, Width,
};
use std::collections::HashMap;

/// Compound assignment operators of the binary ALU operations.
const ALU_OPS: [(&str, AluOp); 13] = [
    ("+=", AluOp::Add),
    ("-=", AluOp::Sub),
    ("*=", AluOp::Mul),
    ("/=", AluOp::Div),
    ("s/=", AluOp::Sdiv),
    ("%=", AluOp::Mod),
    ("s%=", AluOp::Smod),
    ("|=", AluOp::Or),
    ("&=", AluOp::And),
    ("^=", AluOp::Xor),
    ("<<=", AluOp::Lsh),
    (">>=", AluOp::Rsh),
    ("s>>=", AluOp::Arsh),
];

const JMP_CONDS: [(&str, JmpCond); 11] = [
    ("==", JmpCond::Eq),
    ("!=", JmpCond::Ne),
    (">", JmpCond::Gt),
    (">=", JmpCond::Ge),
    ("<", JmpCond::Lt),
    ("<=", JmpCond::Le),
    ("s>", JmpCond::Sgt),
    ("s>=", JmpCond::Sge),
    ("s<", JmpCond::Slt),
    ("s<=", JmpCond::Sle),
    ("&", JmpCond::Set),
];

const ENDIAN_OPS: [(&str, EndianOp); 3] = [
    ("be", EndianOp::ToBe),
    ("le", EndianOp::ToLe),
    ("bswap", EndianOp::Swap),
];

/// Read-modify-write atomics: the name in `atomic_fetch_NAME`, the operator
/// after `lock`, and the operation given whether it fetches.
type AtomicAlu = (&'static str, &'static str, fn(bool) -> AtomicOp);
const ATOMIC_ALU: [AtomicAlu; 4] = [
    ("add", "+=", |fetch| AtomicOp::Add { fetch }),
    ("or", "|=", |fetch| AtomicOp::Or { fetch }),
    ("and", "&=", |fetch| AtomicOp::And { fetch }),
    ("xor", "^=", |fetch| AtomicOp::Xor { fetch }),
];

// ---------------------------------------------------------------------------
// Disassembler
// ---------------------------------------------------------------------------

/// Formats one instruction as `llvm-objdump-19 -d --mcpu=v4` prints it, or in
/// the documented extension where LLVM's text loses information.
pub fn format_insn(insn: &Insn) -> String {
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let d = reg(dst, width);
            let s = source(src, width);
            match op {
                AluOp::Mov => format!("{d} = {s}"),
                AluOp::MovSx8 => format!("{d} = (s8){s}"),
                AluOp::MovSx16 => format!("{d} = (s16){s}"),
                AluOp::MovSx32 => format!("{d} = (s32){s}"),
                _ => format!("{d} {} {s}", alu_symbol(op)),
            }
        }
        Insn::Neg { width, dst } => format!("{0} = -{0}", reg(dst, width)),
        Insn::Endian { op, bits, dst } => {
            let name = ENDIAN_OPS.iter().find(|e| e.1 == op).map_or("", |e| e.0);
            format!("{dst} = {name}{bits} {dst}")
        }
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let cond = JMP_CONDS.iter().find(|c| c.1 == cond).map_or("", |c| c.0);
            format!(
                "if {} {cond} {} goto {}",
                reg(dst, width),
                source(src, width),
                relative(off.into())
            )
        }
        Insn::Ja { off } => format!("goto {}", relative(off.into())),
        Insn::JaLong { imm } => format!("gotol {}", relative(imm.into())),
        Insn::Load {
            size,
            sign_extend,
            dst,
            src,
            off,
        } => {
            let (kind, width) = if sign_extend {
                ('s', Width::W64)
            } else {
                ('u', value_width(size))
            };
            format!(
                "{} = *({kind}{} *){}",
                reg(dst, width),
                bits(size),
                memory(src, off)
            )
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            format!(
                "*(u{} *){} = {}",
                bits(size),
                memory(dst, off),
                source(src, value_width(size))
            )
        }
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => format_atomic(size, op, dst, src, off),
        Insn::LdImm64 { dst, value } => format!("{dst} = {} ll", ld_imm64_value(value)),
        Insn::LdAbs { size, imm } => format!("r0 = *(u{} *)skb[{}]", bits(size), hex(imm.into())),
        Insn::LdInd { size, src, imm } => {
            let index = match imm {
                0 => src.to_string(),
                _ => format!("{src} {}", signed_magnitude(imm.into())),
            };
            format!("r0 = *(u{} *)skb[{index}]", bits(size))
        }
        Insn::Call(CallTarget::Helper(id)) => format!("call {}", hex(id.into())),
        Insn::Call(CallTarget::Local(off)) => format!("call pc{}", relative(off.into())),
        Insn::Call(CallTarget::Kfunc { btf_id, module }) => {
            format!("call kfunc({}, {})", hex(btf_id.into()), hex(module.into()))
        }
        Insn::CallX { dst } => format!("callx {dst}"),
        Insn::Exit => "exit".to_string(),
    }
}

fn format_atomic(size: MemSize, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> String {
    let width = value_width(size);
    let s = reg(src, width);
    let (name, fetch) = match op {
        AtomicOp::Add { fetch } => ("add", fetch),
        AtomicOp::Or { fetch } => ("or", fetch),
        AtomicOp::And { fetch } => ("and", fetch),
        AtomicOp::Xor { fetch } => ("xor", fetch),
        AtomicOp::Xchg => {
            return format!(
                "{s} = xchg{}({}, {s})",
                xchg_suffix(width),
                address(dst, off)
            )
        }
        AtomicOp::Cmpxchg => {
            let r0 = reg(Reg::R0, width);
            return format!(
                "{r0} = cmpxchg{}({}, {r0}, {s})",
                xchg_suffix(width),
                address(dst, off)
            );
        }
    };
    let ty = format!("(u{} *)", bits(size));
    if fetch {
        format!("{s} = atomic_fetch_{name}({ty}{}, {s})", memory(dst, off))
    } else {
        let symbol = ATOMIC_ALU.iter().find(|a| a.0 == name).map_or("", |a| a.1);
        format!("lock *{ty}{} {symbol} {s}", memory(dst, off))
    }
}

fn ld_imm64_value(value: LdImm64) -> String {
    match value {
        LdImm64::Imm(v) => hex(v as i64),
        LdImm64::MapFd(fd) => format!("map_fd({})", hex(fd.into())),
        LdImm64::MapValue { map_fd, offset } => {
            format!("map_value({}, {offset:#x})", hex(map_fd.into()))
        }
        LdImm64::BtfId { btf_id, btf_fd } => {
            format!("btf_id({}, {})", hex(btf_id.into()), hex(btf_fd.into()))
        }
        LdImm64::Func(off) => format!("func(pc{})", relative(off.into())),
        LdImm64::MapIdx(idx) => format!("map_idx({})", hex(idx.into())),
        LdImm64::MapIdxValue { map_idx, offset } => {
            format!("map_idx_value({}, {offset:#x})", hex(map_idx.into()))
        }
    }
}

fn alu_symbol(op: AluOp) -> &'static str {
    ALU_OPS.iter().find(|a| a.1 == op).map_or("", |a| a.0)
}

/// `r3` or `w3`.
fn reg(r: Reg, width: Width) -> String {
    match width {
        Width::W64 => format!("r{}", r.num()),
        Width::W32 => format!("w{}", r.num()),
    }
}

fn source(src: Source, width: Width) -> String {
    match src {
        Source::Reg(r) => reg(r, width),
        Source::Imm(imm) => hex(imm.into()),
    }
}

/// LLVM's signed hexadecimal: `0x5`, `-0x5`.
fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

/// A branch offset: `+0x3`, `-0x3`.
fn relative(v: i64) -> String {
    if v < 0 {
        hex(v)
    } else {
        format!("+{v:#x}")
    }
}

/// The spaced offset of a memory operand: `+ 0x2`, `- 0x8`.
fn signed_magnitude(v: i64) -> String {
    let sign = if v < 0 { '-' } else { '+' };
    format!("{sign} {:#x}", v.unsigned_abs())
}

/// `r10 - 0x8`: the address operand of `xchg` and `cmpxchg`.
fn address(base: Reg, off: i16) -> String {
    format!("{base} {}", signed_magnitude(off.into()))
}

/// `(r10 - 0x8)`.
fn memory(base: Reg, off: i16) -> String {
    format!("({})", address(base, off))
}

fn bits(size: MemSize) -> usize {
    size.bytes() * 8
}

/// ALU32 names the value of a narrow memory access with a `w` register.
fn value_width(size: MemSize) -> Width {
    if size == MemSize::DW {
        Width::W64
    } else {
        Width::W32
    }
}

fn xchg_suffix(width: Width) -> &'static str {
    match width {
        Width::W64 => "_64",
        Width::W32 => "32_32",
    }
}

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

/// Operators, longest first so that `<<=` is not read as `<` `<=`. The signed
/// operators start with `s`, which would otherwise begin a word.
const PUNCTS: [&str; 29] = [
    "s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=", "+=", "-=", "*=", "/=", "%=", "|=", "&=",
    "^=", "==", "!=", ">=", "<=", "s>", "s<", ">", "<", "=", "(", ")", "[", "]", ",",
];

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    text: &'a str,
    /// 1-based column (in characters) of the first character.
    col: usize,
    /// A word (register, keyword, label or number) rather than punctuation.
    word: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn tokenize(code: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let mut rest = code;
    let mut col = 1;
    while let Some(c) = rest.chars().next() {
        let (len, word) = if c.is_whitespace() {
            (c.len_utf8(), None)
        } else if let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            (p.len(), Some(false))
        } else if is_word_char(c) {
            (
                rest.find(|c| !is_word_char(c)).unwrap_or(rest.len()),
                Some(true),
            )
        } else {
            // `:`, `*`, `+`, `-`, `&`, and any stray character, which the
            // parser then reports as unexpected.
            (c.len_utf8(), Some(false))
        };
        let text = &rest[..len];
        if let Some(word) = word {
            toks.push(Tok { text, col, word });
        }
        col += text.chars().count();
        rest = &rest[len..];
    }
    toks
}

/// Cuts the comment off a line.
fn strip_comment(text: &str) -> &str {
    let comment = [text.find('#'), text.find(';'), text.find("//")];
    text[..comment.into_iter().flatten().min().unwrap_or(text.len())].trim_end()
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// A `[rw]N` register token: `None` if the word does not look like one,
/// `Some(Err)` if it names no register (`r11`).
fn parse_reg(text: &str) -> Option<Result<(Reg, Width), AsmErrorKind>> {
    let width = match text.as_bytes().first()? {
        b'r' => Width::W64,
        b'w' => Width::W32,
        _ => return None,
    };
    let digits = &text[1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let canonical = digits.len() == 1 || !digits.starts_with('0');
    let reg = digits.parse().ok().filter(|_| canonical).and_then(Reg::new);
    Some(
        reg.map(|r| (r, width))
            .ok_or_else(|| AsmErrorKind::BadRegister(text.to_string())),
    )
}

fn is_label(tok: &Tok) -> bool {
    tok.word
        && tok
            .text
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '.')
}

fn is_hex_word(tok: &Tok, len: usize) -> bool {
    tok.word && tok.text.len() == len && tok.text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn mem_type(text: &str) -> Option<(MemSize, bool)> {
    Some(match text {
        "u8" => (MemSize::B, false),
        "u16" => (MemSize::H, false),
        "u32" => (MemSize::W, false),
        "u64" => (MemSize::DW, false),
        "s8" => (MemSize::B, true),
        "s16" => (MemSize::H, true),
        "s32" => (MemSize::W, true),
        _ => return None,
    })
}

/// The value of an unsigned decimal or `0x` hexadecimal literal.
fn magnitude(text: &str) -> Result<i128, AsmErrorKind> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        // A leading zero means octal to llvm-mc; refuse rather than disagree.
        None if text.len() > 1 && text.starts_with('0') => ("", 10),
        None => (text, 10),
    };
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    valid
        .then(|| i128::from_str_radix(digits, radix).ok())
        .flatten()
        .ok_or_else(|| AsmErrorKind::BadNumber(text.to_string()))
}

fn out_of_range(what: &'static str, value: i128, bits: u32) -> AsmErrorKind {
    AsmErrorKind::OutOfRange { what, value, bits }
}

/// A 32-bit immediate field: any value that fits `i32` or `u32`.
fn imm32(what: &'static str, v: i128) -> Result<i32, AsmErrorKind> {
    if (i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v) {
        Ok(v as u32 as i32)
    } else {
        Err(out_of_range(what, v, 32))
    }
}

fn off16(what: &'static str, v: i128) -> Result<i16, AsmErrorKind> {
    i16::try_from(v).map_err(|_| out_of_range(what, v, 16))
}

fn off32(what: &'static str, v: i128) -> Result<i32, AsmErrorKind> {
    i32::try_from(v).map_err(|_| out_of_range(what, v, 32))
}

/// Sets the offset of a jump, local call or function reference, checking that
/// it fits the instruction's field.
fn with_offset(insn: Insn, off: i128) -> Result<Insn, AsmErrorKind> {
    const WHAT: &str = "branch offset";
    Ok(match insn {
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            ..
        } => Insn::Jump {
            width,
            cond,
            dst,
            src,
            off: off16(WHAT, off)?,
        },
        Insn::Ja { .. } => Insn::Ja {
            off: off16(WHAT, off)?,
        },
        Insn::JaLong { .. } => Insn::JaLong {
            imm: off32(WHAT, off)?,
        },
        Insn::Call(CallTarget::Local(_)) => Insn::Call(CallTarget::Local(off32(WHAT, off)?)),
        Insn::LdImm64 {
            dst,
            value: LdImm64::Func(_),
        } => Insn::LdImm64 {
            dst,
            value: LdImm64::Func(off32(WHAT, off)?),
        },
        // Only the branches above carry an offset.
        other => other,
    })
}

/// A parsed instruction, maybe waiting for a label's slot.
struct Stmt<'a> {
    insn: Insn,
    /// The label the branch offset refers to, with its column.
    label: Option<(&'a str, usize)>,
}

impl From<Insn> for Stmt<'_> {
    fn from(insn: Insn) -> Self {
        Stmt { insn, label: None }
    }
}

/// A branch target: a label or a numeric offset.
enum Target<'a> {
    Label(&'a str, usize),
    Offset(i128, usize),
}

/// The tokens of one line and a cursor over them.
struct Line<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    line: usize,
    /// Column just past the last token, where a missing operand is reported.
    end_col: usize,
}

type Res<T> = Result<T, AsmError>;

impl<'a> Line<'a> {
    fn new(line: usize, text: &'a str) -> Self {
        let code = strip_comment(text);
        Line {
            toks: tokenize(code),
            pos: 0,
            line,
            end_col: code.chars().count() + 1,
        }
    }

    fn error(&self, column: usize, kind: AsmErrorKind) -> AsmError {
        AsmError {
            line: self.line,
            column,
            kind,
        }
    }

    fn expected(&self, expected: &'static str, tok: Tok) -> AsmError {
        self.error(
            tok.col,
            AsmErrorKind::Expected {
                expected,
                found: tok.text.to_string(),
            },
        )
    }

    fn peek_at(&self, ahead: usize) -> Option<Tok<'a>> {
        self.toks.get(self.pos + ahead).copied()
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.peek_at(0)
    }

    fn peek_is(&self, text: &str) -> bool {
        self.peek().is_some_and(|t| t.text == text)
    }

    fn peek_is_reg(&self) -> bool {
        self.peek().is_some_and(|t| parse_reg(t.text).is_some())
    }

    /// The next token; `what` names what is missing at the end of the line.
    fn next(&mut self, what: &'static str) -> Res<Tok<'a>> {
        let tok = self
            .peek()
            .ok_or_else(|| self.error(self.end_col, AsmErrorKind::MissingOperand(what)))?;
        self.pos += 1;
        Ok(tok)
    }

    fn eat(&mut self, text: &str) -> bool {
        let found = self.peek_is(text);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes the token quoted in `what` (`` "`(`" ``).
    fn expect(&mut self, what: &'static str) -> Res<()> {
        let tok = self.next(what)?;
        if tok.text == what.trim_matches('`') {
            Ok(())
        } else {
            Err(self.expected(what, tok))
        }
    }

    /// Checks that the instruction ends the line, but for the target
    /// annotation llvm-objdump appends to branches (`<LBB0_2>`, `<prog+0x38>`).
    fn finish(&self) -> Res<()> {
        let rest = &self.toks[self.pos.min(self.toks.len())..];
        let contiguous = rest
            .windows(2)
            .all(|w| w[0].col + w[0].text.chars().count() == w[1].col);
        match rest {
            [] => Ok(()),
            [first, .., last] if first.text == "<" && last.text == ">" && contiguous => Ok(()),
            [first, ..] => Err(self.error(
                first.col,
                AsmErrorKind::TrailingInput(first.text.to_string()),
            )),
        }
    }

    fn text_at(&self, index: usize) -> &'a str {
        self.toks.get(index).map_or("", |t| t.text)
    }

    /// Skips what llvm-objdump prints around an instruction and returns the
    /// labels the line defines.
    fn labels(&mut self) -> Vec<(&'a str, usize)> {
        let mut labels = Vec::new();
        if self.peek().is_some_and(|t| is_hex_word(&t, 16)) {
            // `0000000000000000 <prog>:` names the code that follows.
            if let [_, lt, name, gt, colon] = self.toks[..] {
                if (lt.text, gt.text, colon.text) == ("<", ">", ":") && is_label(&name) {
                    self.pos = self.toks.len();
                    labels.push((name.text, name.col));
                    return labels;
                }
            }
            // `0000000000000010:  R_BPF_64_32  foo` from `llvm-objdump -r`.
            if self.text_at(1) == ":" && self.text_at(2).starts_with("R_BPF_") {
                self.pos = self.toks.len();
                return labels;
            }
        }
        // `12:` and the raw bytes: the slot number is informative only.
        let slot_number = self
            .peek()
            .is_some_and(|t| t.word && t.text.bytes().all(|b| b.is_ascii_digit()));
        if slot_number && self.text_at(1) == ":" {
            self.pos = 2;
            while self.peek().is_some_and(|t| is_hex_word(&t, 2)) {
                self.pos += 1;
            }
        }
        while let Some(name) = self
            .peek()
            .filter(|t| is_label(t) && self.text_at(self.pos + 1) == ":")
        {
            labels.push((name.text, name.col));
            self.pos += 2;
        }
        labels
    }

    /// Parses the instruction on the rest of the line, if any.
    fn statement(&mut self) -> Res<Option<Stmt<'a>>> {
        let Some(first) = self.peek() else {
            return Ok(None);
        };
        if parse_reg(first.text).is_some() {
            let stmt = self.assignment()?;
            self.finish()?;
            return Ok(Some(stmt));
        }
        self.pos += 1;
        let stmt = match first.text {
            "exit" => Insn::Exit.into(),
            "goto" => self.branch(Insn::Ja { off: 0 })?,
            "gotol" => self.branch(Insn::JaLong { imm: 0 })?,
            "call" => self.call()?,
            "callx" => Insn::CallX {
                dst: self.reg_of(Width::W64)?,
            }
            .into(),
            "if" => self.cond_jump()?,
            "lock" => self.lock()?.into(),
            "*" => self.store()?.into(),
            "ld_pseudo" => self.ld_pseudo()?.into(),
            _ => {
                return Err(self.error(
                    first.col,
                    AsmErrorKind::UnknownMnemonic(first.text.to_string()),
                ))
            }
        };
        self.finish()?;
        Ok(Some(stmt))
    }

    // --- operands -----------------------------------------------------------

    fn reg(&mut self) -> Res<(Reg, Width, Tok<'a>)> {
        let tok = self.next("register")?;
        match parse_reg(tok.text) {
            Some(Ok((r, width))) => Ok((r, width, tok)),
            Some(Err(kind)) => Err(self.error(tok.col, kind)),
            None => Err(self.expected("register", tok)),
        }
    }

    fn reg_of(&mut self, width: Width) -> Res<Reg> {
        let (r, w, tok) = self.reg()?;
        self.check_width(tok, w, width)?;
        Ok(r)
    }

    fn check_width(&self, tok: Tok, have: Width, need: Width) -> Res<()> {
        match (have, need) {
            (Width::W32, Width::W64) => Err(self.expected("a 64-bit register (r0 to r10)", tok)),
            (Width::W64, Width::W32) => Err(self.expected("a 32-bit register (w0 to w10)", tok)),
            _ => Ok(()),
        }
    }

    /// The register a tied operand repeats (`r0 = -r0`, `r1 = xchg_64(…, r1)`).
    fn tied(&mut self, dst: Reg, width: Width) -> Res<()> {
        let (r, w, tok) = self.reg()?;
        if r == dst && w == width {
            Ok(())
        } else {
            Err(self.expected("the destination register again", tok))
        }
    }

    /// An unsigned number.
    fn unsigned(&mut self, what: &'static str) -> Res<i128> {
        let tok = self.next(what)?;
        if !tok.word || !tok.text.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.expected(what, tok));
        }
        magnitude(tok.text).map_err(|k| self.error(tok.col, k))
    }

    /// A signed number and its column.
    fn int(&mut self, what: &'static str) -> Res<(i128, usize)> {
        let col = self.peek().map_or(self.end_col, |t| t.col);
        let negative = self.peek_is("-");
        if negative || self.peek_is("+") {
            self.pos += 1;
        }
        let m = self.unsigned(what)?;
        Ok((if negative { -m } else { m }, col))
    }

    fn imm32(&mut self, what: &'static str) -> Res<i32> {
        let (v, col) = self.int(what)?;
        imm32(what, v).map_err(|k| self.error(col, k))
    }

    /// The immediate in an operand that could be a register too.
    fn imm_operand(&mut self) -> Res<i32> {
        let (v, col) = self.int("register or immediate")?;
        imm32("immediate", v).map_err(|k| self.error(col, k))
    }

    fn source(&mut self, width: Width) -> Res<Source> {
        if self.peek_is_reg() {
            Ok(Source::Reg(self.reg_of(width)?))
        } else {
            Ok(Source::Imm(self.imm_operand()?))
        }
    }

    /// `+ N` or `- N` after a base register.
    fn displacement(&mut self) -> Res<(i128, usize)> {
        let sign = self.next("`+` or `-`")?;
        let negative = match sign.text {
            "+" => false,
            "-" => true,
            _ => return Err(self.expected("`+` or `-`", sign)),
        };
        let m = self.unsigned("offset")?;
        Ok((if negative { -m } else { m }, sign.col))
    }

    /// `r10 - 8`.
    fn address(&mut self) -> Res<(Reg, i16)> {
        let base = self.reg_of(Width::W64)?;
        let (v, col) = self.displacement()?;
        Ok((
            base,
            off16("memory offset", v).map_err(|k| self.error(col, k))?,
        ))
    }

    /// `(r10 - 8)`.
    fn memory(&mut self) -> Res<(Reg, i16)> {
        self.expect("`(`")?;
        let addr = self.address()?;
        self.expect("`)`")?;
        Ok(addr)
    }

    /// `(u32 *)`: the size, whether it is signed, and the type's token.
    fn cast(&mut self) -> Res<(MemSize, bool, Tok<'a>)> {
        self.expect("`(`")?;
        let tok = self.next("type")?;
        let (size, signed) = mem_type(tok.text)
            .ok_or_else(|| self.expected("a type (u8, u16, u32, u64, s8, s16 or s32)", tok))?;
        self.expect("`*`")?;
        self.expect("`)`")?;
        Ok((size, signed, tok))
    }

    fn unsigned_cast(&mut self) -> Res<(MemSize, Tok<'a>)> {
        match self.cast()? {
            (_, true, tok) => Err(self.expected("an unsigned type (u8, u16, u32 or u64)", tok)),
            (size, false, tok) => Ok((size, tok)),
        }
    }

    /// The `(u32 *)` or `(u64 *)` of an atomic on a `w` or `r` value.
    fn atomic_cast(&mut self, width: Width) -> Res<MemSize> {
        let (size, tok) = self.unsigned_cast()?;
        match (size, width) {
            (MemSize::W, Width::W32) | (MemSize::DW, Width::W64) => Ok(size),
            (_, Width::W32) => Err(self.expected("`u32` for a `w` register", tok)),
            (_, Width::W64) => Err(self.expected("`u64` for an `r` register", tok)),
        }
    }

    fn target(&mut self) -> Res<Target<'a>> {
        match self.peek() {
            Some(tok) if is_label(&tok) => {
                self.pos += 1;
                Ok(Target::Label(tok.text, tok.col))
            }
            _ => self
                .int("branch target")
                .map(|(v, col)| Target::Offset(v, col)),
        }
    }

    /// Reads the target of a branch whose offset field is still zero.
    fn branch(&mut self, insn: Insn) -> Res<Stmt<'a>> {
        let target = self.target()?;
        self.resolve_target(insn, target)
    }

    fn resolve_target(&self, insn: Insn, target: Target<'a>) -> Res<Stmt<'a>> {
        match target {
            Target::Label(name, col) => Ok(Stmt {
                insn,
                label: Some((name, col)),
            }),
            Target::Offset(v, col) => with_offset(insn, v)
                .map(Stmt::from)
                .map_err(|k| self.error(col, k)),
        }
    }

    /// `pc+N` or a label: a code address in a local call or `func(…)`.
    fn code_target(&mut self, insn: Insn) -> Res<Stmt<'a>> {
        let pc_relative = self.peek_is("pc")
            && self
                .peek_at(1)
                .is_some_and(|t| t.text == "+" || t.text == "-");
        if pc_relative {
            self.pos += 1;
            let (v, col) = self.int("offset")?;
            return self.resolve_target(insn, Target::Offset(v, col));
        }
        match self.peek() {
            Some(tok) if is_label(&tok) => self.branch(insn),
            Some(tok) => Err(self.expected("`pc+N`, `pc-N` or a label", tok)),
            None => Err(self.error(
                self.end_col,
                AsmErrorKind::MissingOperand("`pc+N`, `pc-N` or a label"),
            )),
        }
    }

    // --- instruction forms --------------------------------------------------

    fn call(&mut self) -> Res<Stmt<'a>> {
        let Some(tok) = self.peek() else {
            return Err(self.error(self.end_col, AsmErrorKind::MissingOperand("call target")));
        };
        if tok.text == "kfunc" && self.peek_at(1).is_some_and(|t| t.text == "(") {
            self.pos += 2;
            let btf_id = self.imm32("BTF id")?;
            self.expect("`,`")?;
            let (v, col) = self.int("module index")?;
            let module = off16("module index", v).map_err(|k| self.error(col, k))?;
            self.expect("`)`")?;
            return Ok(Insn::Call(CallTarget::Kfunc { btf_id, module }).into());
        }
        if is_label(&tok) {
            return self.code_target(Insn::Call(CallTarget::Local(0)));
        }
        Ok(Insn::Call(CallTarget::Helper(self.imm32("helper id")?)).into())
    }

    fn cond_jump(&mut self) -> Res<Stmt<'a>> {
        let (dst, width, _) = self.reg()?;
        let op = self.next("comparison")?;
        let cond = JMP_CONDS
            .iter()
            .find(|c| c.0 == op.text)
            .map(|c| c.1)
            .ok_or_else(|| self.expected("comparison (== != > >= < <= s> s>= s< s<= &)", op))?;
        let src = self.source(width)?;
        self.expect("`goto`")?;
        self.branch(Insn::Jump {
            width,
            cond,
            dst,
            src,
            off: 0,
        })
    }

    /// `lock *(u64 *)(r10 - 8) += r1`.
    fn lock(&mut self) -> Res<Insn> {
        self.expect("`*`")?;
        let (size, size_tok) = self.unsigned_cast()?;
        if !matches!(size, MemSize::W | MemSize::DW) {
            return Err(self.expected("`u32` or `u64`", size_tok));
        }
        let (dst, off) = self.memory()?;
        let op = self.next("`+=`, `|=`, `&=` or `^=`")?;
        let make = ATOMIC_ALU
            .iter()
            .find(|a| a.1 == op.text)
            .map(|a| a.2)
            .ok_or_else(|| self.expected("`+=`, `|=`, `&=` or `^=`", op))?;
        let src = self.value_reg(size)?;
        Ok(Insn::Atomic {
            size,
            op: make(false),
            dst,
            src,
            off,
        })
    }

    /// The register stored by a store or non-fetching atomic. A narrow value
    /// may be named `r` too: LLVM prints it so without ALU32.
    fn value_reg(&mut self, size: MemSize) -> Res<Reg> {
        let (r, width, tok) = self.reg()?;
        if size == MemSize::DW {
            self.check_width(tok, width, Width::W64)?;
        }
        Ok(r)
    }

    /// `*(u32 *)(r10 - 8) = w1` or `= 5`.
    fn store(&mut self) -> Res<Insn> {
        let (size, _) = self.unsigned_cast()?;
        let (dst, off) = self.memory()?;
        self.expect("`=`")?;
        let src = if self.peek_is_reg() {
            Source::Reg(self.value_reg(size)?)
        } else {
            Source::Imm(self.imm_operand()?)
        };
        Ok(Insn::Store {
            size,
            dst,
            off,
            src,
        })
    }

    /// `ld_pseudo r1, SRC, IMM`: LLVM's form for `LD_IMM64` with a source.
    fn ld_pseudo(&mut self) -> Res<Insn> {
        let dst = self.reg_of(Width::W64)?;
        self.expect("`,`")?;
        let (src, col) = self.int("pseudo source (0 to 6)")?;
        self.expect("`,`")?;
        let imm = self.imm32("immediate")?;
        let value = match src {
            0 => LdImm64::Imm(imm as u32 as u64),
            1 => LdImm64::MapFd(imm),
            2 => LdImm64::MapValue {
                map_fd: imm,
                offset: 0,
            },
            3 => LdImm64::BtfId {
                btf_id: imm,
                btf_fd: 0,
            },
            4 => LdImm64::Func(imm),
            5 => LdImm64::MapIdx(imm),
            6 => LdImm64::MapIdxValue {
                map_idx: imm,
                offset: 0,
            },
            _ => return Err(self.error(col, out_of_range("pseudo source", src, 3))),
        };
        Ok(Insn::LdImm64 { dst, value })
    }

    /// Every form that starts with a register: `REG = …` and `REG op= …`.
    fn assignment(&mut self) -> Res<Stmt<'a>> {
        let (dst, width, dst_tok) = self.reg()?;
        let op = self.next("operator")?;
        if op.text != "=" {
            let alu = ALU_OPS
                .iter()
                .find(|a| a.0 == op.text)
                .map(|a| a.1)
                .ok_or_else(|| self.expected("`=` or an assignment operator", op))?;
            let src = self.source(width)?;
            return Ok(Insn::Alu {
                width,
                op: alu,
                dst,
                src,
            }
            .into());
        }
        let Some(tok) = self.peek() else {
            return Err(self.error(self.end_col, AsmErrorKind::MissingOperand("operand")));
        };
        if let Some((op, bits)) = endian_op(tok.text) {
            self.check_width(dst_tok, width, Width::W64)?;
            self.pos += 1;
            self.tied(dst, width)?;
            return Ok(Insn::Endian { op, bits, dst }.into());
        }
        let insn = match tok.text {
            "-" if self.peek_at(1).is_some_and(|t| parse_reg(t.text).is_some()) => {
                self.pos += 1;
                self.tied(dst, width)?;
                Insn::Neg { width, dst }
            }
            "*" => {
                self.pos += 1;
                self.load(dst, width, dst_tok)?
            }
            "(" => self.move_sign_extend(dst, width, dst_tok)?,
            "map_fd" | "map_value" | "btf_id" | "func" | "map_idx" | "map_idx_value" => {
                self.check_width(dst_tok, width, Width::W64)?;
                self.pos += 1;
                return self.pseudo_ld_imm64(dst, tok.text);
            }
            name if ["atomic_fetch_", "xchg", "cmpxchg"]
                .iter()
                .any(|p| name.starts_with(p)) =>
            {
                self.pos += 1;
                self.atomic_call(tok, dst, width, dst_tok)?
            }
            _ if self.peek_is_reg() => {
                let src = Source::Reg(self.reg_of(width)?);
                Insn::Alu {
                    width,
                    op: AluOp::Mov,
                    dst,
                    src,
                }
            }
            _ => self.constant(dst, width, dst_tok)?,
        };
        Ok(insn.into())
    }

    /// After `REG =`: `5` or `0x1122334455667788 ll`.
    fn constant(&mut self, dst: Reg, width: Width, dst_tok: Tok) -> Res<Insn> {
        let (v, col) = self.int("operand")?;
        if !self.eat("ll") {
            let imm = imm32("immediate", v).map_err(|k| self.error(col, k))?;
            return Ok(Insn::Alu {
                width,
                op: AluOp::Mov,
                dst,
                src: Source::Imm(imm),
            });
        }
        self.check_width(dst_tok, width, Width::W64)?;
        if !(i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&v) {
            return Err(self.error(col, out_of_range("immediate", v, 64)));
        }
        // Truncation keeps the two's complement bits of a negative value.
        Ok(Insn::LdImm64 {
            dst,
            value: LdImm64::Imm(v as u64),
        })
    }

    /// After `REG = *`: a memory or packet load.
    fn load(&mut self, dst: Reg, width: Width, dst_tok: Tok) -> Res<Insn> {
        let (size, sign_extend, size_tok) = self.cast()?;
        if self.eat("skb") {
            if dst != Reg::R0 || width != Width::W64 {
                return Err(self.expected("`r0` (packet loads write r0)", dst_tok));
            }
            if sign_extend || size == MemSize::DW {
                return Err(self.expected("`u8`, `u16` or `u32`", size_tok));
            }
            return self.packet_load(size);
        }
        let (src, off) = self.memory()?;
        // A 32-bit destination only names the zero-extending narrow loads.
        if sign_extend || size == MemSize::DW {
            self.check_width(dst_tok, width, Width::W64)?;
        }
        Ok(Insn::Load {
            size,
            sign_extend,
            dst,
            src,
            off,
        })
    }

    /// After `r0 = *(u16 *)skb`: `[0xc]`, `[r1]` or `[r1 + 0xc]`.
    fn packet_load(&mut self, size: MemSize) -> Res<Insn> {
        self.expect("`[`")?;
        let insn = if self.peek_is_reg() {
            let src = self.reg_of(Width::W64)?;
            let imm = if self.peek_is("]") {
                0
            } else {
                let (v, col) = self.displacement()?;
                imm32("immediate", v).map_err(|k| self.error(col, k))?
            };
            Insn::LdInd { size, src, imm }
        } else {
            Insn::LdAbs {
                size,
                imm: self.imm32("offset")?,
            }
        };
        self.expect("`]`")?;
        Ok(insn)
    }

    /// After `REG =`: `(s8)REG`.
    fn move_sign_extend(&mut self, dst: Reg, width: Width, dst_tok: Tok) -> Res<Insn> {
        self.expect("`(`")?;
        let tok = self.next("`s8`, `s16` or `s32`")?;
        let op = match tok.text {
            "s8" => AluOp::MovSx8,
            "s16" => AluOp::MovSx16,
            "s32" => {
                self.check_width(dst_tok, width, Width::W64)?;
                AluOp::MovSx32
            }
            _ => return Err(self.expected("`s8`, `s16` or `s32`", tok)),
        };
        self.expect("`)`")?;
        let src = self.reg_of(width)?;
        Ok(Insn::Alu {
            width,
            op,
            dst,
            src: Source::Reg(src),
        })
    }

    /// After `REG =`: `atomic_fetch_OP((u64 *)(r1 + 0), REG)`,
    /// `xchg_64(r1 + 0, REG)` or `cmpxchg_64(r1 + 0, r0, REG)`, and their
    /// 32-bit forms.
    fn atomic_call(&mut self, name: Tok, dst: Reg, width: Width, dst_tok: Tok) -> Res<Insn> {
        if let Some(alu) = name.text.strip_prefix("atomic_fetch_") {
            let make = ATOMIC_ALU
                .iter()
                .find(|a| a.0 == alu)
                .map(|a| a.2)
                .ok_or_else(|| self.expected("an atomic operation", name))?;
            self.expect("`(`")?;
            let size = self.atomic_cast(width)?;
            let (base, off) = self.memory()?;
            self.expect("`,`")?;
            self.tied(dst, width)?;
            self.expect("`)`")?;
            return Ok(Insn::Atomic {
                size,
                op: make(true),
                dst: base,
                src: dst,
                off,
            });
        }
        let (op, size) = match name.text {
            "xchg_64" => (AtomicOp::Xchg, MemSize::DW),
            "xchg32_32" => (AtomicOp::Xchg, MemSize::W),
            "cmpxchg_64" => (AtomicOp::Cmpxchg, MemSize::DW),
            "cmpxchg32_32" => (AtomicOp::Cmpxchg, MemSize::W),
            _ => return Err(self.expected("an atomic operation", name)),
        };
        self.check_width(dst_tok, width, value_width(size))?;
        self.expect("`(`")?;
        let (base, off) = self.address()?;
        self.expect("`,`")?;
        let src = if op == AtomicOp::Cmpxchg {
            // cmpxchg compares with and writes r0, which the syntax spells twice.
            if dst != Reg::R0 {
                return Err(self.expected("`r0` or `w0` (cmpxchg writes r0)", dst_tok));
            }
            self.tied(dst, width)?;
            self.expect("`,`")?;
            self.reg_of(width)?
        } else {
            self.tied(dst, width)?;
            dst
        };
        self.expect("`)`")?;
        Ok(Insn::Atomic {
            size,
            op,
            dst: base,
            src,
            off,
        })
    }

    /// After `r1 =`: `map_fd(3) ll` and the other `LD_IMM64` pseudo forms.
    fn pseudo_ld_imm64(&mut self, dst: Reg, name: &str) -> Res<Stmt<'a>> {
        self.expect("`(`")?;
        let stmt = if name == "func" {
            let placeholder = Insn::LdImm64 {
                dst,
                value: LdImm64::Func(0),
            };
            self.code_target(placeholder)?
        } else {
            let first = self.imm32("immediate")?;
            let mut second = || -> Res<i32> {
                self.expect("`,`")?;
                self.imm32("immediate")
            };
            let value = match name {
                "map_fd" => LdImm64::MapFd(first),
                "map_value" => LdImm64::MapValue {
                    map_fd: first,
                    offset: second()? as u32,
                },
                "btf_id" => LdImm64::BtfId {
                    btf_id: first,
                    btf_fd: second()?,
                },
                "map_idx" => LdImm64::MapIdx(first),
                _ => LdImm64::MapIdxValue {
                    map_idx: first,
                    offset: second()? as u32,
                },
            };
            Insn::LdImm64 { dst, value }.into()
        };
        self.expect("`)`")?;
        self.expect("`ll`")?;
        Ok(stmt)
    }
}

/// `be16` and the other byte-order operations.
fn endian_op(name: &str) -> Option<(EndianOp, u8)> {
    ENDIAN_OPS.iter().find_map(|&(prefix, op)| {
        let bits = match name.strip_prefix(prefix)? {
            "16" => 16,
            "32" => 32,
            "64" => 64,
            _ => return None,
        };
        Some((op, bits))
    })
}

// ---------------------------------------------------------------------------
// Assembler
// ---------------------------------------------------------------------------

/// Assembles a program in LLVM syntax.
pub fn assemble(source: &str) -> Result<Vec<Insn>, AsmError> {
    let mut labels: HashMap<&str, usize> = HashMap::new();
    // Each statement with its line and first slot.
    let mut stmts = Vec::new();
    let mut slot = 0;
    for (index, text) in source.lines().enumerate() {
        let mut line = Line::new(index + 1, text);
        for (name, col) in line.labels() {
            if labels.insert(name, slot).is_some() {
                return Err(line.error(col, AsmErrorKind::DuplicateLabel(name.to_string())));
            }
        }
        if let Some(stmt) = line.statement()? {
            let start = slot;
            slot += stmt.insn.slots();
            stmts.push((line.line, start, stmt));
        }
    }
    stmts
        .into_iter()
        .map(|(line, start, stmt)| {
            let Some((name, column)) = stmt.label else {
                return Ok(stmt.insn);
            };
            let error = |kind| AsmError { line, column, kind };
            let target = labels
                .get(name)
                .ok_or_else(|| error(AsmErrorKind::UndefinedLabel(name.to_string())))?;
            with_offset(stmt.insn, *target as i128 - (start as i128 + 1)).map_err(error)
        })
        .collect()
}
