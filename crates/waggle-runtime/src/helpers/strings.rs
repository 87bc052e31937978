//! `bpf_strncmp`, `bpf_strtol`, `bpf_strtoul`, as Linux's
//! `kernel/bpf/helpers.c` defines them.

use super::{errno, neg, read_mem, write_mem};
use waggle_vm::{HelperContext, HelperResult, Interrupt};

/// `bpf_strncmp(s1, s1_sz, s2)`: the kernel's `strncmp(s1, s2, s1_sz)`:
/// -1, 0 or 1, comparing bytes as unsigned. `s2` is a constant string
/// (NUL-terminated); it is read only as far as the comparison goes.
pub(crate) fn strncmp(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let n = u64::from(a[1] as u32);
    let s1 = read_mem(cx, a[0], n)?;
    for (i, &c1) in s1.iter().enumerate() {
        let at = a[2]
            .checked_add(i as u64)
            .ok_or_else(|| Interrupt::Fault(format!("bad string pointer {:#x}", a[2])))?;
        let c2 = cx.read(at, 1)?.first().copied().unwrap_or(0);
        if c1 != c2 {
            return Ok(if c1 < c2 { -1i64 as u64 } else { 1 });
        }
        if c1 == 0 {
            break;
        }
    }
    Ok(0)
}

/// Linux's `isspace` (its ctype table counts 0xa0 as space too).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// Linux's `__bpf_strtoull`: (value, negative, characters consumed), or a
/// negative errno.
pub(crate) fn parse(buf: &[u8], flags: u64) -> Result<(u64, bool, usize), i64> {
    const BASE_MASK: u64 = 0x1f;
    let mut base = (flags & BASE_MASK) as u32;
    if buf.is_empty() || !matches!(base, 0 | 8 | 10 | 16) || flags & !BASE_MASK != 0 {
        return Err(-errno::EINVAL);
    }
    let mut pos = buf.iter().take_while(|&&c| is_space(c)).count();
    let negative = buf.get(pos) == Some(&b'-');
    if negative {
        pos += 1;
    }
    if pos == buf.len() {
        return Err(-errno::EINVAL);
    }
    // Linux parses a NUL-terminated copy of at most 63 bytes.
    let rest = &buf[pos..];
    let rest = &rest[..rest.len().min(63)];
    let at = |i: usize| rest.get(i).copied().unwrap_or(0);
    let mut i = 0;
    // `_parse_integer_fixup_radix`.
    if base == 0 {
        base = if at(0) == b'0' {
            if at(1).eq_ignore_ascii_case(&b'x') && at(2).is_ascii_hexdigit() {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && at(0) == b'0' && at(1).eq_ignore_ascii_case(&b'x') {
        i = 2;
    }
    // `_parse_integer`: digits up to the first that does not fit the base.
    let start = i;
    let mut value = 0u64;
    let mut overflow = false;
    loop {
        let c = at(i);
        let digit = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'a'..=b'f' | b'A'..=b'F' => u32::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => break,
        };
        if digit >= base {
            break;
        }
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(v) => value = v,
            None => {
                overflow = true;
                value = value
                    .wrapping_mul(u64::from(base))
                    .wrapping_add(u64::from(digit));
            }
        }
        i += 1;
    }
    if overflow {
        return Err(-errno::ERANGE);
    }
    if i == start {
        return Err(-errno::EINVAL);
    }
    Ok((value, negative, pos + i))
}

/// Writes `value` through the result pointer.
fn store(cx: &mut HelperContext<'_>, addr: u64, value: u64) -> Result<(), Interrupt> {
    write_mem(cx, addr, 8)?.copy_from_slice(&value.to_ne_bytes());
    Ok(())
}

/// `bpf_strtol(buf, buf_len, flags, res)`: characters consumed, or
/// `-EINVAL`/`-ERANGE`; `*res` is 0 on failure.
pub(crate) fn strtol(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    store(cx, a[3], 0)?;
    let buf = read_mem(cx, a[0], a[1])?;
    let parsed = if a[0] == 0 {
        Err(-errno::EINVAL)
    } else {
        parse(buf, a[2])
    };
    let (value, negative, consumed) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(e as u64),
    };
    let result = if negative {
        let v = (value as i64).wrapping_neg();
        if v > 0 {
            return Ok(neg(errno::ERANGE));
        }
        v
    } else {
        if (value as i64) < 0 {
            return Ok(neg(errno::ERANGE));
        }
        value as i64
    };
    store(cx, a[3], result as u64)?;
    Ok(consumed as u64)
}

/// `bpf_strtoul(buf, buf_len, flags, res)`: as `bpf_strtol`, and a minus
/// sign is `-EINVAL`.
pub(crate) fn strtoul(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    store(cx, a[3], 0)?;
    let buf = read_mem(cx, a[0], a[1])?;
    let parsed = if a[0] == 0 {
        Err(-errno::EINVAL)
    } else {
        parse(buf, a[2])
    };
    match parsed {
        Ok((_, true, _)) => Ok(neg(errno::EINVAL)),
        Ok((value, false, consumed)) => {
            store(cx, a[3], value)?;
            Ok(consumed as u64)
        }
        Err(e) => Ok(e as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_follows_linux() {
        assert_eq!(parse(b"123", 10), Ok((123, false, 3)));
        assert_eq!(parse(b"  -42xyz", 10), Ok((42, true, 5)));
        assert_eq!(parse(b"\t\n+1", 10), Err(-errno::EINVAL)); // no '+' sign
        assert_eq!(parse(b"0x1f", 0), Ok((31, false, 4)));
        assert_eq!(parse(b"0x1f", 16), Ok((31, false, 4)));
        assert_eq!(parse(b"1f", 16), Ok((31, false, 2)));
        assert_eq!(parse(b"017", 0), Ok((15, false, 3)));
        assert_eq!(parse(b"0xg", 0), Ok((0, false, 1))); // octal 0, then 'x'
        assert_eq!(parse(b"0xg", 16), Err(-errno::EINVAL)); // prefix, no digits
        assert_eq!(parse(b"19", 8), Ok((1, false, 1)));
        assert_eq!(parse(b"abc", 10), Err(-errno::EINVAL));
        assert_eq!(parse(b"   ", 10), Err(-errno::EINVAL));
        assert_eq!(parse(b"-", 10), Err(-errno::EINVAL));
        assert_eq!(parse(b"", 10), Err(-errno::EINVAL));
        assert_eq!(parse(b"1", 2), Err(-errno::EINVAL)); // base 2 unsupported
        assert_eq!(parse(b"1", 10 | 0x20), Err(-errno::EINVAL)); // unknown flag
        assert_eq!(
            parse(b"18446744073709551615", 10),
            Ok((u64::MAX, false, 20))
        );
        assert_eq!(parse(b"18446744073709551616", 10), Err(-errno::ERANGE));
        // Only 63 bytes after the blanks and sign are looked at.
        let long = [b'1'; 70];
        let mut zeros = [b'0'; 70];
        zeros[69] = b'7';
        assert_eq!(parse(&zeros, 10), Ok((0, false, 63)));
        assert_eq!(parse(&long, 10), Err(-errno::ERANGE));
    }
}
