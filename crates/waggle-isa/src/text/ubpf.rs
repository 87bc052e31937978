//! The uBPF / bpf_conformance assembly syntax.
//!
//! One instruction per line. `#` and `//` start a comment. A label is a name
//! followed by `:` at the start of a line, optionally followed by an
//! instruction. Registers are `%r0` to `%r10` (`r0` is accepted too). Numbers
//! are decimal or `0x` hexadecimal, optionally signed.
//!
//! | Class            | Spelling                                                          |
//! |------------------|-------------------------------------------------------------------|
//! | ALU              | `add %r1, %r2`, `add32 %r1, -3` (`add64` = `add`); also `sub mul div sdiv or and lsh rsh mod smod xor mov arsh` |
//! | negation         | `neg %r1`, `neg32 %r1`                                            |
//! | sign-extend move | `movsx832 movsx1632 movsx864 movsx1664 movsx3264`, register source only |
//! | byte order       | `le16 le32 le64 be16 be32 be64 %r1`, `bswap16 bswap32 bswap64 %r1` (alias `swap16`…) |
//! | jumps            | `jeq %r1, %r2, target`, `jne32 %r1, 5, target`; `ja target`; `ja32 target` (32-bit offset) |
//! | loads            | `ldxw %r0, [%r1+2]`, sign-extending `ldxsb ldxsh ldxsw`           |
//! | stores           | `stw [%r10-4], 7`, `stxdw [%r10-8], %r1`                          |
//! | atomics          | `lock add [%r1+0], %r2`, `lock fetch or32 …`, `lock xchg …`, `lock cmpxchg32 …` |
//! | 64-bit load      | `lddw %r1, 0x1122334455667788`                                    |
//! | pseudo `lddw`    | `lddw %r1, map_fd 3`, `map_value 3, 16`, `btf_id 5, 0`, `func target`, `map_idx 0`, `map_idx_value 0, 8` |
//! | packet loads     | `ldabsw 12`, `ldindh %r1, 2`                                      |
//! | calls            | `call 5` (helper), `call local target`, `call %r2`, `call kfunc 1234` or `call kfunc 1234, 2` (BTF object index) |
//! | exit             | `exit`                                                            |
//!
//! A `target` is a label or a signed slot offset relative to the next
//! instruction, `+N` or `-N` (`lddw` occupies two slots). As in the
//! bpf_conformance assembler, a jump to the label `exit` that is never defined
//! goes to the first `exit` instruction, and `call helper N` and
//! `call runtime N` are accepted for `call N` and `call kfunc N`.
//!
//! Immediates of 32-bit fields accept any value that fits `i32` or `u32`
//! (`0xffffff80` is stored as -128); `lddw` accepts any value that fits `i64`
//! or `u64`. Memory offsets and branch offsets must fit their signed fields.
//!
//! [`format_insn`] prints decimal immediates (hexadecimal for plain `lddw`),
//! numeric branch offsets (`jne %r0, 15, +3`, `ja -2`, `call local +5`) and
//! memory operands with an explicit signed offset (`[%r1+0]`, `[%r10-8]`);
//! its output assembles back to the same instruction.

use crate::text::{AsmError, AsmErrorKind};
use crate::{
    AluOp, AtomicOp, CallTarget, EndianOp, Insn, JmpCond, LdImm64, MemSize, Reg, Source, Width,
};
use std::collections::HashMap;

/// Assembles a program in uBPF syntax.
pub fn assemble(source: &str) -> Result<Vec<Insn>, AsmError> {
    let mut asm = Assembler::default();
    for (index, text) in source.lines().enumerate() {
        asm.line(Line::new(index + 1, text))?;
    }
    asm.resolve()
}

/// Formats one instruction in uBPF syntax.
pub fn format_insn(insn: &Insn) -> String {
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            format!("{} %{dst}, {}", alu_mnemonic(width, op), source(src))
        }
        Insn::Neg { width, dst } => format!("neg{} %{dst}", width_suffix(width)),
        Insn::Endian { op, bits, dst } => format!("{}{bits} %{dst}", endian_prefix(op)),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => format!(
            "{}{} %{dst}, {}, {off:+}",
            cond_name(cond),
            width_suffix(width),
            source(src)
        ),
        Insn::Ja { off } => format!("ja {off:+}"),
        Insn::JaLong { imm } => format!("ja32 {imm:+}"),
        Insn::Load {
            size,
            sign_extend,
            dst,
            src,
            off,
        } => {
            let s = if sign_extend { "s" } else { "" };
            format!("ldx{s}{} %{dst}, {}", size_name(size), memory(src, off))
        }
        Insn::Store {
            size,
            dst,
            off,
            src: Source::Imm(imm),
        } => {
            format!("st{} {}, {imm}", size_name(size), memory(dst, off))
        }
        Insn::Store {
            size,
            dst,
            off,
            src: Source::Reg(src),
        } => {
            format!("stx{} {}, %{src}", size_name(size), memory(dst, off))
        }
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => {
            let (fetch, name) = atomic_name(op);
            let fetch = if fetch { "fetch " } else { "" };
            let suffix = atomic_suffix(size);
            format!("lock {fetch}{name}{suffix} {}, %{src}", memory(dst, off))
        }
        Insn::LdImm64 { dst, value } => format!("lddw %{dst}, {}", ld_imm64_operand(value)),
        Insn::LdAbs { size, imm } => format!("ldabs{} {imm}", size_name(size)),
        Insn::LdInd { size, src, imm } => format!("ldind{} %{src}, {imm}", size_name(size)),
        Insn::Call(CallTarget::Helper(id)) => format!("call {id}"),
        Insn::Call(CallTarget::Local(off)) => format!("call local {off:+}"),
        Insn::Call(CallTarget::Kfunc { btf_id, module: 0 }) => format!("call kfunc {btf_id}"),
        Insn::Call(CallTarget::Kfunc { btf_id, module }) => {
            format!("call kfunc {btf_id}, {module}")
        }
        Insn::CallX { dst } => format!("call %{dst}"),
        Insn::Exit => "exit".to_string(),
    }
}

// ---------------------------------------------------------------------------
// Names shared by the assembler and the disassembler.

/// ALU operations other than the sign-extending moves.
const PLAIN_ALU_OPS: [AluOp; 14] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::Sdiv,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::Smod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::Arsh,
];

/// The valid sign-extending moves. They always spell their width
/// (`movsx864`): unsuffixed, `movsx8` would be a 64-bit move but `movsx32`
/// would read as a 32-bit one.
const MOVSX: [(Width, AluOp); 5] = [
    (Width::W32, AluOp::MovSx8),
    (Width::W32, AluOp::MovSx16),
    (Width::W64, AluOp::MovSx8),
    (Width::W64, AluOp::MovSx16),
    (Width::W64, AluOp::MovSx32),
];

const SIZES: [MemSize; 4] = [MemSize::B, MemSize::H, MemSize::W, MemSize::DW];

/// Byte-order mnemonic prefixes; `swap` is the bpf_conformance alias of `bswap`.
const ENDIAN: [(&str, EndianOp); 4] = [
    ("le", EndianOp::ToLe),
    ("be", EndianOp::ToBe),
    ("bswap", EndianOp::Swap),
    ("swap", EndianOp::Swap),
];

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::Sdiv => "sdiv",
        AluOp::Or => "or",
        AluOp::And => "and",
        AluOp::Lsh => "lsh",
        AluOp::Rsh => "rsh",
        AluOp::Mod => "mod",
        AluOp::Smod => "smod",
        AluOp::Xor => "xor",
        AluOp::Mov => "mov",
        AluOp::MovSx8 => "movsx8",
        AluOp::MovSx16 => "movsx16",
        AluOp::MovSx32 => "movsx32",
        AluOp::Arsh => "arsh",
    }
}

fn width_suffix(width: Width) -> &'static str {
    match width {
        Width::W32 => "32",
        Width::W64 => "",
    }
}

fn width_bits(width: Width) -> &'static str {
    match width {
        Width::W32 => "32",
        Width::W64 => "64",
    }
}

fn alu_mnemonic(width: Width, op: AluOp) -> String {
    let suffix = match op {
        AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32 => width_bits(width),
        _ => width_suffix(width),
    };
    format!("{}{suffix}", alu_name(op))
}

fn cond_name(cond: JmpCond) -> &'static str {
    match cond {
        JmpCond::Eq => "jeq",
        JmpCond::Gt => "jgt",
        JmpCond::Ge => "jge",
        JmpCond::Set => "jset",
        JmpCond::Ne => "jne",
        JmpCond::Sgt => "jsgt",
        JmpCond::Sge => "jsge",
        JmpCond::Lt => "jlt",
        JmpCond::Le => "jle",
        JmpCond::Slt => "jslt",
        JmpCond::Sle => "jsle",
    }
}

fn size_name(size: MemSize) -> &'static str {
    match size {
        MemSize::B => "b",
        MemSize::H => "h",
        MemSize::W => "w",
        MemSize::DW => "dw",
    }
}

fn endian_prefix(op: EndianOp) -> &'static str {
    match op {
        EndianOp::ToLe => "le",
        EndianOp::ToBe => "be",
        EndianOp::Swap => "bswap",
    }
}

/// The atomic operation named `base`. `xchg` and `cmpxchg` always fetch, so
/// they do not take the `fetch` flag.
fn atomic_op(base: &str, fetch: bool) -> Option<AtomicOp> {
    Some(match (base, fetch) {
        ("add", _) => AtomicOp::Add { fetch },
        ("or", _) => AtomicOp::Or { fetch },
        ("and", _) => AtomicOp::And { fetch },
        ("xor", _) => AtomicOp::Xor { fetch },
        ("xchg", false) => AtomicOp::Xchg,
        ("cmpxchg", false) => AtomicOp::Cmpxchg,
        _ => return None,
    })
}

/// The `fetch` flag and base name of an atomic operation.
fn atomic_name(op: AtomicOp) -> (bool, &'static str) {
    match op {
        AtomicOp::Add { fetch } => (fetch, "add"),
        AtomicOp::Or { fetch } => (fetch, "or"),
        AtomicOp::And { fetch } => (fetch, "and"),
        AtomicOp::Xor { fetch } => (fetch, "xor"),
        AtomicOp::Xchg => (false, "xchg"),
        AtomicOp::Cmpxchg => (false, "cmpxchg"),
    }
}

/// Atomics are `W` or `DW`; the other sizes print a width the assembler
/// rejects rather than silently turning into a valid instruction.
fn atomic_suffix(size: MemSize) -> &'static str {
    match size {
        MemSize::B => "8",
        MemSize::H => "16",
        MemSize::W => "32",
        MemSize::DW => "",
    }
}

fn source(src: Source) -> String {
    match src {
        Source::Reg(r) => format!("%{r}"),
        Source::Imm(imm) => imm.to_string(),
    }
}

fn memory(base: Reg, off: i16) -> String {
    format!("[%{base}{off:+}]")
}

fn ld_imm64_operand(value: LdImm64) -> String {
    match value {
        LdImm64::Imm(v) => format!("{v:#x}"),
        LdImm64::MapFd(fd) => format!("map_fd {fd}"),
        LdImm64::MapValue { map_fd, offset } => format!("map_value {map_fd}, {offset}"),
        LdImm64::BtfId { btf_id, btf_fd } => format!("btf_id {btf_id}, {btf_fd}"),
        LdImm64::Func(off) => format!("func {off:+}"),
        LdImm64::MapIdx(idx) => format!("map_idx {idx}"),
        LdImm64::MapIdxValue { map_idx, offset } => format!("map_idx_value {map_idx}, {offset}"),
    }
}

// ---------------------------------------------------------------------------
// Tokens.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokKind {
    /// A mnemonic, label or keyword: starts with a letter, `_` or `.`.
    Word,
    /// `%` and the word after it.
    Reg,
    /// An unsigned number; signs are separate `+` and `-` punctuation.
    Num,
    /// Any other single character.
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: TokKind,
    text: &'a str,
    /// 1-based column of the first character.
    col: usize,
}

impl Tok<'_> {
    fn is_punct(&self, c: char) -> bool {
        self.kind == TokKind::Punct && self.text.starts_with(c)
    }

    fn is_sign(&self) -> bool {
        self.is_punct('+') || self.is_punct('-')
    }

    /// Whether the token names a register, valid or not (`%r11`, `%x`, `r11`),
    /// as opposed to a label or number.
    fn is_register(&self) -> bool {
        match self.kind {
            TokKind::Reg => true,
            TokKind::Word => self
                .text
                .strip_prefix('r')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
            _ => false,
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Splits a line into tokens up to its comment, and returns the column just
/// past the last token (where a missing operand is reported).
fn tokenize(text: &str) -> (Vec<Tok<'_>>, usize) {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut col = 0;
    let mut end_col = 1;
    while let Some((start, c)) = chars.next() {
        col += 1;
        if c.is_whitespace() {
            continue;
        }
        if c == '#' || (c == '/' && chars.peek().is_some_and(|&(_, d)| d == '/')) {
            break;
        }
        let kind = match c {
            '0'..='9' => TokKind::Num,
            '%' => TokKind::Reg,
            c if is_word_char(c) => TokKind::Word,
            _ => TokKind::Punct,
        };
        let first_col = col;
        let mut end = start + c.len_utf8();
        if kind != TokKind::Punct {
            while let Some(&(i, d)) = chars.peek().filter(|&&(_, d)| is_word_char(d)) {
                chars.next();
                col += 1;
                end = i + d.len_utf8();
            }
        }
        toks.push(Tok {
            kind,
            text: &text[start..end],
            col: first_col,
        });
        end_col = col + 1;
    }
    (toks, end_col)
}

/// The magnitude of an unsigned decimal or `0x` hexadecimal number token.
fn parse_magnitude(text: &str) -> Option<i128> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    // The tokenizer only lets alphanumerics into a number, so `from_str_radix`
    // never sees the sign it would otherwise accept.
    i128::from_str_radix(digits, radix).ok()
}

// ---------------------------------------------------------------------------
// One line being parsed.

/// A number and the column where it starts (its sign, if any).
#[derive(Debug, Clone, Copy)]
struct Number {
    value: i128,
    col: usize,
}

/// A branch target as written.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Offset(Number),
    Label(LabelRef<'a>),
}

#[derive(Debug, Clone, Copy)]
struct LabelRef<'a> {
    name: &'a str,
    line: usize,
    col: usize,
}

/// A cursor over the tokens of one line that knows where each one is.
struct Line<'a> {
    number: usize,
    toks: Vec<Tok<'a>>,
    pos: usize,
    end_col: usize,
}

type AsmResult<T> = Result<T, AsmError>;

impl<'a> Line<'a> {
    fn new(number: usize, text: &'a str) -> Self {
        let (toks, end_col) = tokenize(text);
        Line {
            number,
            toks,
            pos: 0,
            end_col,
        }
    }

    fn error(&self, col: usize, kind: AsmErrorKind) -> AsmError {
        AsmError {
            line: self.number,
            column: col,
            kind,
        }
    }

    fn unexpected(&self, tok: Tok<'_>, expected: &'static str) -> AsmError {
        self.error(
            tok.col,
            AsmErrorKind::Expected {
                expected,
                found: tok.text.to_string(),
            },
        )
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Whether a number, perhaps signed, comes next.
    fn at_number(&self) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == TokKind::Num || t.is_sign())
    }

    fn at_register(&self) -> bool {
        self.peek().is_some_and(|t| t.is_register())
    }

    /// The error for a line that ends where `what` was expected.
    fn missing(&self, what: &'static str) -> AsmError {
        self.error(self.end_col, AsmErrorKind::MissingOperand(what))
    }

    /// The next token, which must exist because `what` is expected there.
    fn next(&mut self, what: &'static str) -> AsmResult<Tok<'a>> {
        let tok = self.peek().ok_or_else(|| self.missing(what))?;
        self.pos += 1;
        Ok(tok)
    }

    /// Consumes `name:` at the cursor if it is there.
    fn label(&mut self) -> Option<Tok<'a>> {
        match self.toks.get(self.pos..self.pos + 2) {
            Some(&[name, colon]) if name.kind == TokKind::Word && colon.is_punct(':') => {
                self.pos += 2;
                Some(name)
            }
            _ => None,
        }
    }

    fn punct(&mut self, c: char, what: &'static str) -> AsmResult<()> {
        let tok = self.next(what)?;
        if tok.is_punct(c) {
            Ok(())
        } else {
            Err(self.unexpected(tok, what))
        }
    }

    /// The `,` before an operand described by `operand`; a line that ends
    /// here is missing that operand.
    fn comma(&mut self, operand: &'static str) -> AsmResult<()> {
        if self.at_end() {
            return Err(self.missing(operand));
        }
        self.punct(',', "`,`")
    }

    /// A keyword such as `fetch` or `local`, if the next token is that word.
    fn keyword(&mut self, word: &str) -> bool {
        let found = self
            .peek()
            .is_some_and(|t| t.kind == TokKind::Word && t.text == word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn finish(&self) -> AsmResult<()> {
        match self.peek() {
            Some(tok) => {
                Err(self.error(tok.col, AsmErrorKind::TrailingInput(tok.text.to_string())))
            }
            None => Ok(()),
        }
    }

    fn reg(&mut self) -> AsmResult<Reg> {
        let tok = self.next("register")?;
        if !tok.is_register() {
            return Err(self.unexpected(tok, "register"));
        }
        let name = tok.text.strip_prefix('%').unwrap_or(tok.text);
        name.strip_prefix('r')
            .and_then(|n| n.parse::<u8>().ok())
            .and_then(Reg::new)
            .ok_or_else(|| self.error(tok.col, AsmErrorKind::BadRegister(tok.text.to_string())))
    }

    /// A number with an optional sign.
    fn number(&mut self, what: &'static str) -> AsmResult<Number> {
        let first = self.next(what)?;
        let negative = first.is_punct('-');
        let digits = if first.is_sign() {
            self.next(what)?
        } else {
            first
        };
        if digits.kind != TokKind::Num {
            return Err(self.unexpected(digits, what));
        }
        let magnitude = parse_magnitude(digits.text).ok_or_else(|| {
            self.error(digits.col, AsmErrorKind::BadNumber(digits.text.to_string()))
        })?;
        let value = if negative { -magnitude } else { magnitude };
        Ok(Number {
            value,
            col: first.col,
        })
    }

    /// A number in `min..=max`, or an `OutOfRange` error describing a field of
    /// `bits` bits.
    fn ranged(&mut self, what: &'static str, min: i128, max: i128, bits: u32) -> AsmResult<i128> {
        let n = self.number(what)?;
        if (min..=max).contains(&n.value) {
            Ok(n.value)
        } else {
            Err(self.error(
                n.col,
                AsmErrorKind::OutOfRange {
                    what,
                    value: n.value,
                    bits,
                },
            ))
        }
    }

    /// A 32-bit immediate written signed or unsigned; stored as its bit pattern.
    fn imm32(&mut self, what: &'static str) -> AsmResult<i32> {
        let v = self.ranged(what, i32::MIN.into(), u32::MAX.into(), 32)?;
        Ok(v as u32 as i32)
    }

    /// A 64-bit immediate written signed or unsigned; stored as its bit pattern.
    fn imm64(&mut self) -> AsmResult<u64> {
        let v = self.ranged("immediate", i64::MIN.into(), u64::MAX.into(), 64)?;
        Ok(v as u64)
    }

    fn source(&mut self) -> AsmResult<Source> {
        if self.at_register() {
            Ok(Source::Reg(self.reg()?))
        } else if self.at_number() {
            Ok(Source::Imm(self.imm32("immediate")?))
        } else {
            let tok = self.next("register or immediate")?;
            Err(self.unexpected(tok, "register or immediate"))
        }
    }

    /// `[%rN]`, `[%rN+off]` or `[%rN-off]`.
    fn memory(&mut self) -> AsmResult<(Reg, i16)> {
        self.punct('[', "memory operand `[%rN+off]`")?;
        let base = self.reg()?;
        let off = if self.peek().is_some_and(|t| t.is_sign()) {
            self.ranged("offset", i16::MIN.into(), i16::MAX.into(), 16)? as i16
        } else {
            0
        };
        self.punct(']', "`]`")?;
        Ok((base, off))
    }

    fn target(&mut self) -> AsmResult<Target<'a>> {
        const WHAT: &str = "label or offset (`+N`, `-N`)";
        if self.peek().is_some_and(|t| t.is_sign()) {
            return Ok(Target::Offset(self.number(WHAT)?));
        }
        let tok = self.next(WHAT)?;
        if tok.kind != TokKind::Word {
            return Err(self.unexpected(tok, WHAT));
        }
        Ok(Target::Label(LabelRef {
            name: tok.text,
            line: self.number,
            col: tok.col,
        }))
    }
}

// ---------------------------------------------------------------------------
// Mnemonics and instructions.

/// What a mnemonic asks the parser to read.
#[derive(Debug, Clone, Copy)]
enum Mnemonic {
    Alu(Width, AluOp),
    MovSx(Width, AluOp),
    Neg(Width),
    Endian(EndianOp, u8),
    Jump(Width, JmpCond),
    Ja(Width),
    Load(MemSize, bool),
    Store(MemSize),
    StoreReg(MemSize),
    LdAbs(MemSize),
    LdInd(MemSize),
    Lddw,
    Lock,
    Call,
    Exit,
}

/// Strips a `32` or `64` width suffix; no suffix means 64 bits.
fn split_width(name: &str) -> (&str, Width) {
    if let Some(base) = name.strip_suffix("32") {
        (base, Width::W32)
    } else {
        (name.strip_suffix("64").unwrap_or(name), Width::W64)
    }
}

/// `prefix` followed by the name of one of `sizes`.
fn sized(name: &str, prefix: &str, sizes: &[MemSize]) -> Option<MemSize> {
    let suffix = name.strip_prefix(prefix)?;
    sizes.iter().copied().find(|&s| size_name(s) == suffix)
}

fn mnemonic(name: &str) -> Option<Mnemonic> {
    // Sign-extending and legacy packet loads have no doubleword form.
    let no_dw = &SIZES[..3];
    let fixed = match name {
        "lddw" => Some(Mnemonic::Lddw),
        "lock" => Some(Mnemonic::Lock),
        "call" => Some(Mnemonic::Call),
        "exit" => Some(Mnemonic::Exit),
        _ => None,
    };
    fixed
        .or_else(|| movsx(name))
        .or_else(|| endian(name))
        .or_else(|| sized(name, "ldxs", no_dw).map(|s| Mnemonic::Load(s, true)))
        .or_else(|| sized(name, "ldx", &SIZES).map(|s| Mnemonic::Load(s, false)))
        .or_else(|| sized(name, "stx", &SIZES).map(Mnemonic::StoreReg))
        .or_else(|| sized(name, "st", &SIZES).map(Mnemonic::Store))
        .or_else(|| sized(name, "ldabs", no_dw).map(Mnemonic::LdAbs))
        .or_else(|| sized(name, "ldind", no_dw).map(Mnemonic::LdInd))
        .or_else(|| {
            let (base, width) = split_width(name);
            let alu = PLAIN_ALU_OPS.iter().find(|&&op| alu_name(op) == base);
            let cond = JmpCond::ALL.iter().find(|&&c| cond_name(c) == base);
            match (base, alu, cond) {
                ("neg", _, _) => Some(Mnemonic::Neg(width)),
                ("ja", _, _) => Some(Mnemonic::Ja(width)),
                (_, Some(&op), _) => Some(Mnemonic::Alu(width, op)),
                (_, _, Some(&cond)) => Some(Mnemonic::Jump(width, cond)),
                _ => None,
            }
        })
}

fn movsx(name: &str) -> Option<Mnemonic> {
    MOVSX
        .iter()
        .find(|&&(width, op)| name.strip_prefix(alu_name(op)) == Some(width_bits(width)))
        .map(|&(width, op)| Mnemonic::MovSx(width, op))
}

fn endian(name: &str) -> Option<Mnemonic> {
    ENDIAN.iter().find_map(|&(prefix, op)| {
        let bits = match name.strip_prefix(prefix)? {
            "16" => 16,
            "32" => 32,
            "64" => 64,
            _ => return None,
        };
        Some(Mnemonic::Endian(op, bits))
    })
}

/// An instruction whose branch offset may wait for a label.
#[derive(Debug, Clone, Copy)]
enum Branch {
    Jump {
        width: Width,
        cond: JmpCond,
        dst: Reg,
        src: Source,
    },
    Ja,
    JaLong,
    CallLocal,
    Func(Reg),
}

impl Branch {
    fn slots(self) -> usize {
        match self {
            Branch::Func(_) => 2,
            _ => 1,
        }
    }

    /// The instruction with offset `off`, or the width of the field `off`
    /// does not fit in.
    fn build(self, off: i128) -> Result<Insn, u32> {
        let short = || i16::try_from(off).map_err(|_| 16u32);
        let long = || i32::try_from(off).map_err(|_| 32u32);
        Ok(match self {
            Branch::Jump {
                width,
                cond,
                dst,
                src,
            } => Insn::Jump {
                width,
                cond,
                dst,
                src,
                off: short()?,
            },
            Branch::Ja => Insn::Ja { off: short()? },
            Branch::JaLong => Insn::JaLong { imm: long()? },
            Branch::CallLocal => Insn::Call(CallTarget::Local(long()?)),
            Branch::Func(dst) => Insn::LdImm64 {
                dst,
                value: LdImm64::Func(long()?),
            },
        })
    }
}

/// A parsed instruction.
enum Stmt<'a> {
    Insn(Insn),
    Branch(Branch, Target<'a>),
}

/// Parses the operands of the instruction named by `m`.
fn statement<'a>(m: Tok<'a>, line: &mut Line<'a>) -> AsmResult<Stmt<'a>> {
    let mnemonic = mnemonic(m.text)
        .ok_or_else(|| line.error(m.col, AsmErrorKind::UnknownMnemonic(m.text.to_string())))?;
    let insn = match mnemonic {
        Mnemonic::Alu(width, op) => {
            let dst = line.reg()?;
            line.comma("register or immediate")?;
            Insn::Alu {
                width,
                op,
                dst,
                src: line.source()?,
            }
        }
        Mnemonic::MovSx(width, op) => {
            let dst = line.reg()?;
            line.comma("register")?;
            Insn::Alu {
                width,
                op,
                dst,
                src: Source::Reg(line.reg()?),
            }
        }
        Mnemonic::Neg(width) => Insn::Neg {
            width,
            dst: line.reg()?,
        },
        Mnemonic::Endian(op, bits) => Insn::Endian {
            op,
            bits,
            dst: line.reg()?,
        },
        Mnemonic::Jump(width, cond) => {
            let dst = line.reg()?;
            line.comma("register or immediate")?;
            let src = line.source()?;
            line.comma("jump target")?;
            return Ok(Stmt::Branch(
                Branch::Jump {
                    width,
                    cond,
                    dst,
                    src,
                },
                line.target()?,
            ));
        }
        Mnemonic::Ja(width) => {
            let branch = match width {
                Width::W32 => Branch::JaLong,
                Width::W64 => Branch::Ja,
            };
            return Ok(Stmt::Branch(branch, line.target()?));
        }
        Mnemonic::Load(size, sign_extend) => {
            let dst = line.reg()?;
            line.comma("memory operand")?;
            let (src, off) = line.memory()?;
            Insn::Load {
                size,
                sign_extend,
                dst,
                src,
                off,
            }
        }
        Mnemonic::Store(size) => {
            let (dst, off) = line.memory()?;
            line.comma("immediate")?;
            Insn::Store {
                size,
                dst,
                off,
                src: Source::Imm(line.imm32("immediate")?),
            }
        }
        Mnemonic::StoreReg(size) => {
            let (dst, off) = line.memory()?;
            line.comma("register")?;
            Insn::Store {
                size,
                dst,
                off,
                src: Source::Reg(line.reg()?),
            }
        }
        Mnemonic::LdAbs(size) => Insn::LdAbs {
            size,
            imm: line.imm32("immediate")?,
        },
        Mnemonic::LdInd(size) => {
            let src = line.reg()?;
            line.comma("immediate")?;
            Insn::LdInd {
                size,
                src,
                imm: line.imm32("immediate")?,
            }
        }
        Mnemonic::Lddw => return lddw(line),
        Mnemonic::Lock => atomic(line)?,
        Mnemonic::Call => return call(line),
        Mnemonic::Exit => Insn::Exit,
    };
    Ok(Stmt::Insn(insn))
}

/// `lddw %rD, value` where value is a number or a pseudo form such as
/// `map_fd 3` or `func target`.
fn lddw<'a>(line: &mut Line<'a>) -> AsmResult<Stmt<'a>> {
    const WHAT: &str =
        "immediate, `map_fd`, `map_value`, `btf_id`, `func`, `map_idx` or `map_idx_value`";
    let dst = line.reg()?;
    line.comma(WHAT)?;
    if line.at_number() {
        let value = LdImm64::Imm(line.imm64()?);
        return Ok(Stmt::Insn(Insn::LdImm64 { dst, value }));
    }
    let tok = line.next(WHAT)?;
    let value = match tok.text {
        "func" => return Ok(Stmt::Branch(Branch::Func(dst), line.target()?)),
        "map_fd" => LdImm64::MapFd(line.imm32("map fd")?),
        "map_idx" => LdImm64::MapIdx(line.imm32("map index")?),
        "map_value" => {
            let map_fd = line.imm32("map fd")?;
            LdImm64::MapValue {
                map_fd,
                offset: value_offset(line)?,
            }
        }
        "map_idx_value" => {
            let map_idx = line.imm32("map index")?;
            LdImm64::MapIdxValue {
                map_idx,
                offset: value_offset(line)?,
            }
        }
        "btf_id" => {
            let btf_id = line.imm32("BTF id")?;
            line.comma("BTF object fd")?;
            LdImm64::BtfId {
                btf_id,
                btf_fd: line.imm32("BTF object fd")?,
            }
        }
        _ => return Err(line.unexpected(tok, WHAT)),
    };
    Ok(Stmt::Insn(Insn::LdImm64 { dst, value }))
}

/// The `, offset` into a map value.
fn value_offset(line: &mut Line<'_>) -> AsmResult<u32> {
    line.comma("value offset")?;
    Ok(line.imm32("value offset")? as u32)
}

/// `lock [fetch] op[32] [%rD+off], %rS`.
fn atomic(line: &mut Line<'_>) -> AsmResult<Insn> {
    let fetch = line.keyword("fetch");
    let what = if fetch {
        "`add`, `or`, `and` or `xor` (optionally with `32`)"
    } else {
        "atomic operation (`add`, `or`, `and`, `xor`, `xchg`, `cmpxchg`, optionally with `32`)"
    };
    let tok = line.next(what)?;
    let (base, width) = split_width(tok.text);
    let op = atomic_op(base, fetch).ok_or_else(|| line.unexpected(tok, what))?;
    let size = match width {
        Width::W32 => MemSize::W,
        Width::W64 => MemSize::DW,
    };
    let (dst, off) = line.memory()?;
    line.comma("register")?;
    Ok(Insn::Atomic {
        size,
        op,
        dst,
        src: line.reg()?,
        off,
    })
}

/// `call id`, `call local target`, `call %rN`, `call kfunc id[, module]`.
fn call<'a>(line: &mut Line<'a>) -> AsmResult<Stmt<'a>> {
    const WHAT: &str = "helper id, register, `local` or `kfunc`";
    if line.keyword("local") {
        return Ok(Stmt::Branch(Branch::CallLocal, line.target()?));
    }
    let insn = if line.keyword("kfunc") || line.keyword("runtime") {
        let btf_id = line.imm32("kfunc BTF id")?;
        let module = if line.at_end() {
            0
        } else {
            line.comma("BTF object index")?;
            line.ranged("BTF object index", i16::MIN.into(), i16::MAX.into(), 16)? as i16
        };
        Insn::Call(CallTarget::Kfunc { btf_id, module })
    } else {
        // `helper` is bpf_conformance's explicit spelling of the default.
        line.keyword("helper");
        if line.at_register() {
            Insn::CallX { dst: line.reg()? }
        } else if line.at_number() {
            Insn::Call(CallTarget::Helper(line.imm32("helper id")?))
        } else {
            let tok = line.next(WHAT)?;
            return Err(line.unexpected(tok, WHAT));
        }
    };
    Ok(Stmt::Insn(insn))
}

// ---------------------------------------------------------------------------
// The two passes.

/// An instruction ready for output, or one waiting for its label.
enum Item<'a> {
    Done(Insn),
    Fixup {
        branch: Branch,
        slot: usize,
        label: LabelRef<'a>,
    },
}

#[derive(Default)]
struct Assembler<'a> {
    items: Vec<Item<'a>>,
    /// Slot index of the next instruction.
    slot: usize,
    labels: HashMap<&'a str, usize>,
    /// Slot of the first `exit`: the target of `exit` when no label has that name.
    first_exit: Option<usize>,
}

impl<'a> Assembler<'a> {
    fn line(&mut self, mut line: Line<'a>) -> AsmResult<()> {
        while let Some(label) = line.label() {
            if self.labels.insert(label.text, self.slot).is_some() {
                let kind = AsmErrorKind::DuplicateLabel(label.text.to_string());
                return Err(line.error(label.col, kind));
            }
        }
        if line.at_end() {
            return Ok(());
        }
        let m = line.next("instruction")?;
        if m.kind != TokKind::Word {
            return Err(line.unexpected(m, "instruction or label"));
        }
        let stmt = statement(m, &mut line)?;
        line.finish()?;
        let item = match stmt {
            Stmt::Insn(insn) => Item::Done(insn),
            // Numeric offsets are checked now so errors come in line order.
            Stmt::Branch(branch, Target::Offset(n)) => Item::Done(
                branch
                    .build(n.value)
                    .map_err(|bits| line.error(n.col, out_of_range(n.value, bits)))?,
            ),
            Stmt::Branch(branch, Target::Label(label)) => Item::Fixup {
                branch,
                slot: self.slot,
                label,
            },
        };
        self.push(item);
        Ok(())
    }

    fn push(&mut self, item: Item<'a>) {
        let slots = match &item {
            Item::Done(insn) => {
                if *insn == Insn::Exit && self.first_exit.is_none() {
                    self.first_exit = Some(self.slot);
                }
                insn.slots()
            }
            Item::Fixup { branch, .. } => branch.slots(),
        };
        self.items.push(item);
        self.slot += slots;
    }

    fn resolve(self) -> AsmResult<Vec<Insn>> {
        let Assembler {
            items,
            labels,
            first_exit,
            ..
        } = self;
        items
            .into_iter()
            .map(|item| match item {
                Item::Done(insn) => Ok(insn),
                Item::Fixup {
                    branch,
                    slot,
                    label,
                } => {
                    let error = |kind| AsmError {
                        line: label.line,
                        column: label.col,
                        kind,
                    };
                    let implicit = first_exit.filter(|_| label.name == "exit");
                    let target = labels
                        .get(label.name)
                        .copied()
                        .or(implicit)
                        .ok_or_else(|| {
                            error(AsmErrorKind::UndefinedLabel(label.name.to_string()))
                        })?;
                    let off = target as i128 - slot as i128 - 1;
                    branch
                        .build(off)
                        .map_err(|bits| error(out_of_range(off, bits)))
                }
            })
            .collect()
    }
}

fn out_of_range(value: i128, bits: u32) -> AsmErrorKind {
    AsmErrorKind::OutOfRange {
        what: "branch offset",
        value,
        bits,
    }
}
