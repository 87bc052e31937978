//! The printf engine of `bpf_trace_printk`, `bpf_trace_vprintk` and
//! `bpf_snprintf`: Linux's `bpf_bprintf_prepare` (which formats it accepts)
//! followed by `bstr_printf` (how it prints them).
//!
//! Accepted, as in Linux: printable ASCII and whitespace; `%%`; conversions
//! `d i u x X` with an optional `l` or `ll` (`int` is 32 bits, `long` and
//! `long long` 64), `c`, `s`, `p` (plain, `pK`, `px`, `ps`, `pS`, `pB`,
//! `pks`, `pus`, `pi4`, `pI4`, `pi6`, `pI6`); flags `0 + - space` and a
//! field width. Anything else (precision, `#`, `h`, `z`, `o`, `%n`, ...) is
//! `-EINVAL`, and so is a conversion beyond the arguments given. `%s` must
//! be followed by the end, whitespace or punctuation. The argument buffer
//! Linux packs conversions into (512 bytes, strings included) is accounted
//! the same way, so formats that overflow it fail with `-ENOSPC` as in Linux.
//!
//! Strings (`%s`) and addresses (`%pI4`, ...) are read from the process's
//! memory without faulting, like Linux's `strncpy_from_kernel_nofault`: an
//! unreadable string prints as empty, an unreadable address as zeros.
//!
//! Departures: Linux prints `%p` and `%pK` as hashed values (unless booted
//! with `no_hash_pointers`); Waggle has no kernel addresses to hide and
//! prints the pointer itself, as `%px` does (16 zero-padded hex digits).
//! `%ps`, `%pS` and `%pB` print `0x` and the address in hex, what Linux
//! prints for an address without a symbol (`%pB` shows the address minus
//! one, as Linux does for backtrace addresses).

use super::errno::{EINVAL, ENOSPC};

/// Linux's `MAX_BPRINTF_BIN_ARGS`: room for the converted arguments.
const BIN_ARGS: usize = 512;
/// Linux's `FIELD_WIDTH_MAX`.
const WIDTH_MAX: usize = (1 << 23) - 1;

/// Where `%s` strings and `%pI` addresses are read from.
pub(crate) trait Source {
    /// The string at `addr`, at most `max - 1` bytes before its NUL (without
    /// it); `None` if unreadable.
    fn string(&self, addr: u64, max: usize) -> Option<Vec<u8>>;
    /// Fills `buf` from `addr`; whether it was readable.
    fn bytes(&self, addr: u64, buf: &mut [u8]) -> bool;
}

/// The process's memory, read without faulting.
pub(crate) struct ProcessMemory;

impl Source for ProcessMemory {
    fn string(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        super::probe::read_str_nofault(addr, max)
    }
    fn bytes(&self, addr: u64, buf: &mut [u8]) -> bool {
        super::probe::read_nofault(addr, buf)
    }
}

/// A formatted message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Formatted {
    /// The first bytes of the message, at most the `cap` asked for.
    pub text: Vec<u8>,
    /// The length of the whole message (what Linux returns, less any NUL).
    pub len: usize,
}

/// Output that keeps `cap` bytes and counts the rest.
struct Out {
    text: Vec<u8>,
    cap: usize,
    len: usize,
}

impl Out {
    fn push(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.text.len());
        self.text.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.len = self.len.saturating_add(bytes.len());
    }

    fn pad(&mut self, byte: u8, n: usize) {
        let room = self.cap.saturating_sub(self.text.len());
        let keep = n.min(room);
        self.text.resize(self.text.len() + keep, byte);
        self.len = self.len.saturating_add(n);
    }
}

#[derive(Default, Clone, Copy)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
}

impl Spec {
    /// `s` padded with spaces to the width (Linux's `widen_string`).
    fn string(&self, out: &mut Out, s: &[u8]) {
        let pad = self.width.unwrap_or(0).saturating_sub(s.len());
        if !self.left {
            out.pad(b' ', pad);
        }
        out.push(s);
        if self.left {
            out.pad(b' ', pad);
        }
    }

    /// Linux's `number()` without precision: `value` in base 10 (signed if
    /// `signed`) or 16.
    fn number(&self, out: &mut Out, value: u64, signed: bool, hex: Option<bool>) {
        let mut width = self.width.unwrap_or(0);
        let zero = self.zero && !self.left;
        let mut magnitude = value;
        let mut sign = None;
        if signed {
            if (value as i64) < 0 {
                sign = Some(b'-');
                magnitude = (value as i64).unsigned_abs();
            } else if self.plus {
                sign = Some(b'+');
            } else if self.space {
                sign = Some(b' ');
            }
        }
        let digits = match hex {
            Some(true) => format!("{magnitude:X}"),
            Some(false) => format!("{magnitude:x}"),
            None => magnitude.to_string(),
        };
        width = width.saturating_sub(digits.len() + usize::from(sign.is_some()));
        if !zero && !self.left {
            out.pad(b' ', width);
        }
        if let Some(s) = sign {
            out.push(&[s]);
        }
        if zero {
            out.pad(b'0', width);
        }
        out.push(digits.as_bytes());
        if self.left {
            out.pad(b' ', width);
        }
    }

    /// Linux's `pointer_string`: hex, 16 zero-padded digits unless a width
    /// was given.
    fn pointer(&self, out: &mut Out, value: u64) {
        let mut spec = *self;
        if spec.width.is_none() {
            spec.width = Some(16);
            spec.zero = true;
        }
        spec.number(out, value, false, Some(false));
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What may follow `%s`: the end, whitespace or punctuation.
fn ends_string_spec(c: u8) -> bool {
    c == 0 || is_space(c) || c.is_ascii_punctuation()
}

/// The accounting of Linux's argument buffer.
struct BinArgs {
    used: usize,
}

impl BinArgs {
    /// A 4- or 8-byte number, 4-byte aligned.
    fn number(&mut self, size: usize) -> Result<(), i64> {
        self.used = self.used.next_multiple_of(4);
        if BIN_ARGS.saturating_sub(self.used) < size {
            return Err(-ENOSPC);
        }
        self.used += size;
        Ok(())
    }

    /// Room left for a string, which must have at least one byte.
    fn string_room(&self) -> Result<usize, i64> {
        match BIN_ARGS.saturating_sub(self.used) {
            0 => Err(-ENOSPC),
            n => Ok(n),
        }
    }

    fn take(&mut self, n: usize) {
        self.used = (self.used + n).min(BIN_ARGS);
    }
}

/// Formats `fmt` (the bytes before its NUL) with `args`, keeping the first
/// `cap` bytes of the result. Errors are Linux's negative errnos.
pub(crate) fn format(
    fmt: &[u8],
    args: &[u64],
    src: &dyn Source,
    cap: usize,
) -> Result<Formatted, i64> {
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let mut out = Out {
        text: Vec::new(),
        cap,
        len: 0,
    };
    let mut bin = BinArgs { used: 0 };
    let mut next_arg = 0usize;
    let mut i = 0usize;
    while i < fmt.len() {
        let c = fmt[i];
        if !(c.is_ascii_graphic() || is_space(c)) {
            return Err(-EINVAL);
        }
        if c != b'%' {
            out.push(&[c]);
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            out.push(b"%");
            i += 2;
            continue;
        }
        let Some(&arg) = args.get(next_arg) else {
            return Err(-EINVAL);
        };
        next_arg += 1;
        i += 1;
        let mut spec = Spec::default();
        loop {
            match at(i) {
                b'0' => spec.zero = true,
                b'+' => spec.plus = true,
                b'-' => spec.left = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        if matches!(at(i), b'1'..=b'9') {
            let mut w = 0usize;
            while at(i).is_ascii_digit() {
                w = w
                    .saturating_mul(10)
                    .saturating_add(usize::from(at(i) - b'0'));
                i += 1;
            }
            spec.width = Some(w.min(WIDTH_MAX));
        }
        match at(i) {
            b'p' => i = pointer(fmt, i, arg, spec, src, &mut bin, &mut out)?,
            b's' => {
                if !ends_string_spec(at(i + 1)) {
                    return Err(-EINVAL);
                }
                let s = string_arg(arg, src, &mut bin)?;
                spec.string(&mut out, &s);
                i += 1;
            }
            b'c' => {
                bin.string_room()?;
                bin.take(1);
                spec.string(&mut out, &[arg as u8]);
                i += 1;
            }
            _ => {
                let mut size = 4;
                for _ in 0..2 {
                    if at(i) == b'l' {
                        size = 8;
                        i += 1;
                    }
                }
                let conv = at(i);
                if !matches!(conv, b'd' | b'i' | b'u' | b'x' | b'X') {
                    return Err(-EINVAL);
                }
                bin.number(size)?;
                let signed = matches!(conv, b'd' | b'i');
                let value = match (size, signed) {
                    (4, true) => arg as u32 as i32 as i64 as u64,
                    (4, false) => u64::from(arg as u32),
                    _ => arg,
                };
                let hex = match conv {
                    b'x' => Some(false),
                    b'X' => Some(true),
                    _ => None,
                };
                spec.number(&mut out, value, signed, hex);
                i += 1;
            }
        }
    }
    Ok(Formatted {
        text: out.text,
        len: out.len,
    })
}

/// A `%s` argument: the string, or empty if unreadable (one byte of the
/// argument buffer, as Linux accounts it).
fn string_arg(addr: u64, src: &dyn Source, bin: &mut BinArgs) -> Result<Vec<u8>, i64> {
    let room = bin.string_room()?;
    let s = src.string(addr, room).unwrap_or_default();
    bin.take(s.len() + 1);
    Ok(s)
}

/// A `%p` conversion whose `p` is at `fmt[i]`: prints it and returns the
/// index after it (after any letters and digits that follow, which Linux
/// swallows).
fn pointer(
    fmt: &[u8],
    i: usize,
    arg: u64,
    spec: Spec,
    src: &dyn Source,
    bin: &mut BinArgs,
    out: &mut Out,
) -> Result<usize, i64> {
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let next = at(i + 1);
    let skip_alnum = |mut j: usize| {
        while at(j).is_ascii_alphanumeric() {
            j += 1;
        }
        j
    };
    if matches!(next, b'k' | b'u') && at(i + 2) == b's' {
        if !ends_string_spec(at(i + 3)) {
            return Err(-EINVAL);
        }
        // Pre-formatted by Linux: printed without padding.
        out.push(&string_arg(arg, src, bin)?);
        return Ok(i + 3);
    }
    if next == 0
        || is_space(next)
        || next.is_ascii_punctuation()
        || matches!(next, b'K' | b'x' | b's' | b'S')
    {
        bin.number(8)?;
        if matches!(next, b's' | b'S') {
            spec.string(out, format!("{arg:#x}").as_bytes());
        } else {
            spec.pointer(out, arg);
        }
        return Ok(skip_alnum(i + 1));
    }
    if next == b'B' {
        let text = format!("{:#x}", arg.wrapping_sub(1));
        let room = BIN_ARGS.saturating_sub(bin.used);
        let shown = text.len().min(room.saturating_sub(1));
        out.push(&text.as_bytes()[..shown]);
        bin.take(text.len() + 1);
        return Ok(skip_alnum(i + 1));
    }
    let version = at(i + 2);
    if !matches!(next, b'i' | b'I') || !matches!(version, b'4' | b'6') {
        return Err(-EINVAL);
    }
    let size = if version == b'4' { 4 } else { 16 };
    let room = BIN_ARGS.saturating_sub(bin.used);
    if room < size {
        return Err(-ENOSPC);
    }
    let mut addr = [0u8; 16];
    if !src.bytes(arg, &mut addr[..size]) {
        addr = [0; 16];
    }
    let text = ip_text(&addr[..size], next == b'I');
    let shown = text.len().min(room - 1);
    out.push(&text.as_bytes()[..shown]);
    bin.take(text.len() + 1);
    Ok(skip_alnum(i + 1))
}

/// `%pI4` `1.2.3.4`, `%pi4` `001.002.003.004`, `%pI6` eight `:`-separated
/// groups of four hex digits, `%pi6` 32 hex digits.
fn ip_text(addr: &[u8], capital: bool) -> String {
    if addr.len() == 4 {
        let parts: Vec<String> = addr
            .iter()
            .map(|b| {
                if capital {
                    b.to_string()
                } else {
                    format!("{b:03}")
                }
            })
            .collect();
        return parts.join(".");
    }
    if capital {
        let groups: Vec<String> = addr
            .chunks(2)
            .map(|w| format!("{:02x}{:02x}", w[0], w.get(1).copied().unwrap_or(0)))
            .collect();
        groups.join(":")
    } else {
        addr.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory for tests: strings and bytes by address.
    struct Fake;

    const HELLO: u64 = 0x1000;
    const LONG: u64 = 0x2000;
    const IP4: u64 = 0x3000;
    const IP6: u64 = 0x4000;

    impl Source for Fake {
        fn string(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
            let s: Vec<u8> = match addr {
                HELLO => b"hello".to_vec(),
                LONG => vec![b'a'; 1000],
                _ => return None,
            };
            Some(s[..s.len().min(max - 1)].to_vec())
        }
        fn bytes(&self, addr: u64, buf: &mut [u8]) -> bool {
            match addr {
                IP4 => buf.copy_from_slice(&[192, 168, 1, 10]),
                IP6 => {
                    let mut a = [0u8; 16];
                    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                    a[15] = 1;
                    buf.copy_from_slice(&a[..buf.len()]);
                }
                _ => return false,
            }
            true
        }
    }

    fn f(fmt: &str, args: &[u64]) -> Result<String, i64> {
        let r = format(fmt.as_bytes(), args, &Fake, 4096)?;
        assert_eq!(r.len, r.text.len());
        Ok(String::from_utf8(r.text).unwrap())
    }

    #[test]
    fn integers() {
        assert_eq!(f("%d %i", &[-5i64 as u64, 7]).unwrap(), "-5 7");
        // int conversions see the low 32 bits.
        assert_eq!(f("%d", &[0x1_ffff_ffff]).unwrap(), "-1");
        assert_eq!(f("%u", &[-1i64 as u64]).unwrap(), "4294967295");
        assert_eq!(f("%x %X", &[0xbeef, 0xbeef]).unwrap(), "beef BEEF");
        assert_eq!(f("%ld", &[-1i64 as u64]).unwrap(), "-1");
        assert_eq!(f("%li", &[-1i64 as u64]).unwrap(), "-1");
        assert_eq!(f("%lu", &[u64::MAX]).unwrap(), "18446744073709551615");
        assert_eq!(f("%lx", &[0x1234_5678_9abc]).unwrap(), "123456789abc");
        assert_eq!(
            f("%lld", &[i64::MIN as u64]).unwrap(),
            "-9223372036854775808"
        );
        assert_eq!(f("%lli", &[42]).unwrap(), "42");
        assert_eq!(f("%llu", &[u64::MAX]).unwrap(), "18446744073709551615");
        assert_eq!(f("%llx", &[u64::MAX]).unwrap(), "ffffffffffffffff");
        assert_eq!(f("%lX", &[0xabc]).unwrap(), "ABC");
    }

    #[test]
    fn flags_and_width() {
        assert_eq!(f("[%5d]", &[42]).unwrap(), "[   42]");
        assert_eq!(f("[%-5d]", &[42]).unwrap(), "[42   ]");
        assert_eq!(f("[%05d]", &[-42i64 as u64]).unwrap(), "[-0042]");
        assert_eq!(f("[%+d]", &[42]).unwrap(), "[+42]");
        assert_eq!(f("[% d]", &[42]).unwrap(), "[ 42]");
        assert_eq!(f("[%+u]", &[42]).unwrap(), "[42]");
        assert_eq!(f("[%-05d]", &[1]).unwrap(), "[1    ]");
        assert_eq!(f("[%08x]", &[0xbeef]).unwrap(), "[0000beef]");
        assert_eq!(f("[%2d]", &[12345]).unwrap(), "[12345]");
        assert_eq!(f("[%6s]", &[HELLO]).unwrap(), "[ hello]");
        assert_eq!(f("[%-6s]", &[HELLO]).unwrap(), "[hello ]");
        assert_eq!(f("[%3c]", &[b'z' as u64]).unwrap(), "[  z]");
    }

    #[test]
    fn chars_strings_percent() {
        assert_eq!(f("%c%c", &[b'o' as u64, 0x16b]).unwrap(), "ok");
        assert_eq!(f("%s!", &[HELLO]).unwrap(), "hello!");
        assert_eq!(f("<%s>", &[0xdead]).unwrap(), "<>");
        assert_eq!(f("100%%", &[]).unwrap(), "100%");
        assert_eq!(f("a\tb\n", &[]).unwrap(), "a\tb\n");
    }

    #[test]
    fn pointers() {
        assert_eq!(f("%p", &[0x1234]).unwrap(), "0000000000001234");
        assert_eq!(
            f("%pK %px", &[0x10, 0x20]).unwrap(),
            "0000000000000010 0000000000000020"
        );
        assert_eq!(f("%ps", &[0xffff_1234]).unwrap(), "0xffff1234");
        assert_eq!(f("%pB", &[0x1001]).unwrap(), "0x1000");
        assert_eq!(f("%pks|%pus", &[HELLO, 0xdead]).unwrap(), "hello|");
        assert_eq!(f("%pI4", &[IP4]).unwrap(), "192.168.1.10");
        assert_eq!(f("%pi4", &[IP4]).unwrap(), "192.168.001.010");
        assert_eq!(f("%pI4", &[0xdead]).unwrap(), "0.0.0.0");
        assert_eq!(
            f("%pI6", &[IP6]).unwrap(),
            "2001:0db8:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(
            f("%pi6", &[IP6]).unwrap(),
            "20010db8000000000000000000000001"
        );
        // Letters after a %p conversion are swallowed, as in Linux.
        assert_eq!(f("%pI6c.", &[IP6]).unwrap().len(), 40);
        assert_eq!(f("%pKabc def", &[0]).unwrap(), "0000000000000000 def");
    }

    #[test]
    fn invalid_formats() {
        for bad in [
            "%",
            "%q",
            "%.2d",
            "%#x",
            "%hd",
            "%zu",
            "%o",
            "%n",
            "%lllu",
            "%sx",
            "%pZ",
            "%pI5",
            "%5%",
            "\u{1}",
            "caf\u{e9}",
        ] {
            assert_eq!(f(bad, &[1, 2, 3]), Err(-EINVAL), "{bad:?}");
        }
        // More conversions than arguments.
        assert_eq!(f("%d %d %d %d", &[1, 2, 3]), Err(-EINVAL));
        assert_eq!(f("%d", &[]), Err(-EINVAL));
        // `%s` followed by punctuation or whitespace is fine.
        assert_eq!(f("%s.", &[HELLO]).unwrap(), "hello.");
    }

    #[test]
    fn argument_buffer_overflow() {
        // A 511-byte string fills Linux's 512-byte argument buffer.
        assert_eq!(f("%s", &[LONG]).unwrap().len(), 511);
        assert_eq!(f("%s%d", &[LONG, 1]), Err(-ENOSPC));
        assert_eq!(f("%s%c", &[LONG, 1]), Err(-ENOSPC));
        assert_eq!(f("%d%s", &[1, LONG]).unwrap().len(), 1 + 507);
    }

    #[test]
    fn truncation_keeps_the_full_length() {
        let r = format(b"%d-%s", &[12345, HELLO], &Fake, 4).unwrap();
        assert_eq!(r.text, b"1234");
        assert_eq!(r.len, 11);
        let r = format(b"%08d", &[1], &Fake, 0).unwrap();
        assert_eq!((r.text.len(), r.len), (0, 8));
    }

    #[test]
    fn huge_width_is_counted_not_allocated() {
        let r = format(b"%99999999999d", &[1], &Fake, 8).unwrap();
        assert_eq!(r.text, b"        ");
        assert_eq!(r.len, WIDTH_MAX);
    }
}
