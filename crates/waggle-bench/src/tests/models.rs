//! Rust models of the benchmark programs: each computes, from the same input,
//! the `r0` its program must return, independently of any eBPF runtime.

use crate::registry::random_bytes;

/// The model of the program named `name`, or `None` when there is none.
pub fn model(name: &str) -> Option<fn(&[u8]) -> u64> {
    Some(match name {
        "count_loop" => count_loop,
        "nested_loop" => nested_loop,
        "xorshift_mix" => xorshift_mix,
        "digit_sum" => digit_sum,
        "gcd" => gcd,
        "crc32" => crc32,
        "byte_checksum" => byte_checksum,
        "sum_u64" => sum_u64,
        "stack_memcpy" => stack_memcpy,
        "sieve" => sieve,
        "switch_dispatch" => switch_dispatch,
        "call_loop" => call_loop,
        _ => return None,
    })
}

fn count_loop(_: &[u8]) -> u64 {
    (0..3000u64).sum()
}

fn nested_loop(_: &[u8]) -> u64 {
    let mut sum = 0u64;
    for i in 0..40u64 {
        for j in 0..40u64 {
            sum += (i * j) ^ j;
        }
    }
    sum
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn xorshift_mix(_: &[u8]) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut sum = 0u64;
    for _ in 0..250 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum = sum.wrapping_add(fmix64(x));
    }
    sum
}

fn digit_sum(_: &[u8]) -> u64 {
    (1..=200u64)
        .map(|n| {
            let mut m = n * 1_000_003;
            let mut s = 0;
            while m != 0 {
                s += m % 10;
                m /= 10;
            }
            s
        })
        .sum()
}

fn gcd(_: &[u8]) -> u64 {
    let (mut sum, mut steps) = (0u64, 0u64);
    for i in 1..=100u64 {
        let (mut a, mut b) = (40503 * i, 7919 * i + 1_000_003);
        loop {
            let r = a % b;
            a = b;
            b = r;
            steps += 1;
            if b == 0 {
                break;
            }
        }
        sum += a;
    }
    (steps << 32) + sum
}

fn crc32(input: &[u8]) -> u64 {
    crc32_ieee(&input[..128]) as u64
}

fn crc32_ieee(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32_model_matches_the_standard_check_value() {
    assert_eq!(crc32_ieee(b"123456789"), 0xcbf4_3926);
}

fn byte_checksum(input: &[u8]) -> u64 {
    let (mut a, mut b) = (0u64, 0u64);
    for &byte in &input[..1024] {
        a += byte as u64;
        b += a;
    }
    (b << 32) | a
}

fn words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(8).map(|c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    })
}

fn sum_u64(input: &[u8]) -> u64 {
    let mut sum = 0u64;
    for _ in 0..8 {
        for w in words(&input[..1024]) {
            sum = sum.wrapping_add(w);
        }
        sum = sum.wrapping_mul(31);
    }
    sum
}

fn stack_memcpy(input: &[u8]) -> u64 {
    let mut acc = 0u64;
    for round in 0..6 {
        let a = &input[32 * round..32 * round + 256];
        let b = a.to_vec();
        let word = words(&b[8 * round..8 * round + 8]).sum::<u64>();
        acc = acc.wrapping_mul(31).wrapping_add(word);
    }
    acc
}

fn sieve(_: &[u8]) -> u64 {
    let primes: Vec<u64> = (2..512u64)
        .filter(|&n| (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .collect();
    ((primes.len() as u64) << 32) + primes.iter().sum::<u64>()
}

fn switch_dispatch(input: &[u8]) -> u64 {
    let mut r = 0u64;
    for &byte in &input[..512] {
        let b = byte as u64;
        r = match b & 15 {
            0 => r.wrapping_add(b),
            1 => r.wrapping_sub(b),
            2 => r ^ b,
            3 => r.wrapping_mul(3),
            4 => r.wrapping_add(0x1234),
            5 => r << 1,
            6 => r >> 1,
            7 => r ^ 0x5a5a,
            8 => r | b,
            9 => r.wrapping_sub(1),
            10 => r.wrapping_mul(5),
            11 => r.wrapping_add(77),
            12 => r.wrapping_neg(),
            13 => r ^ (r >> 3),
            14 => r.wrapping_sub(12345),
            _ => !r,
        };
    }
    r
}

fn call_loop(_: &[u8]) -> u64 {
    let square = |x: u64| x.wrapping_mul(x).wrapping_add(1);
    let mix = |x: u64, acc: u64| square(x).wrapping_add(acc.wrapping_mul(31)) ^ x;
    (0..300u64).fold(0, |acc, i| mix(i, acc))
}

/// The first bytes [`random_bytes`] gives for seed 0, from an independent
/// splitmix64, so that the inputs the models read are pinned down too.
#[test]
fn random_bytes_are_splitmix64() {
    let mut state = 0u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // splitmix64(0)'s first outputs, as published with the algorithm.
    assert_eq!(next(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(next(), 0x6e78_9e6a_a1b9_65f4);
    let bytes = random_bytes(12, 0);
    assert_eq!(bytes[..8], 0xe220_a839_7b1d_cdafu64.to_le_bytes());
    assert_eq!(bytes[8..], 0x6e78_9e6a_a1b9_65f4u64.to_le_bytes()[..4]);
}
