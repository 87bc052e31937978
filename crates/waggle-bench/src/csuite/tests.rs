//! Keeps the C suite honest: every program loads in Waggle and computes, on
//! several different frames, what its native build computes (or, without
//! one, what a Rust model of it computes), and every other engine that runs
//! it agrees.

use super::engine::{Engine, Observed};
use super::frame::TEST_FRAMES;
use super::programs::{route_of, sequential_value, CProgram, Category, Fill, MAP_OPS, PROGRAMS};
use super::run::{reference, Workload};
use crate::backend::BackendError;

fn bytes<const N: usize>(frame: &[u8], at: usize) -> Option<[u8; N]> {
    frame.get(at..at + N)?.try_into().ok()
}

fn le32(frame: &[u8], at: usize) -> Option<u32> {
    bytes(frame, at).map(u32::from_le_bytes)
}

fn be32(frame: &[u8], at: usize) -> Option<u32> {
    bytes(frame, at).map(u32::from_be_bytes)
}

fn be16(frame: &[u8], at: usize) -> Option<u16> {
    bytes(frame, at).map(u16::from_be_bytes)
}

/// `mapop_key`: a key in [0, 1024) from the bytes at 26..34.
fn mapop_key(frame: &[u8]) -> u32 {
    match (le32(frame, 26), le32(frame, 30)) {
        (Some(a), Some(b)) => (a ^ b).wrapping_mul(0x9e37_79b1) >> 22,
        _ => 0,
    }
}

/// An untagged IPv4 frame's header fields, or `None`.
fn ipv4(frame: &[u8]) -> Option<()> {
    (be16(frame, 12)? == 0x0800 && frame.len() >= 34).then_some(())
}

fn flow_table(frame: &[u8]) -> Option<u64> {
    ipv4(frame)?;
    let ihl = usize::from(frame[14] & 0xf);
    let proto = u32::from(frame[23]);
    if ihl < 5 || (proto != 6 && proto != 17) {
        return None;
    }
    let ports = le32(frame, 14 + ihl * 4)?;
    let (saddr, daddr) = (le32(frame, 26)?, le32(frame, 30)?);
    let tot_len = u32::from(be16(frame, 16)?);
    Some((u64::from(saddr ^ ports) << 32) | u64::from(daddr ^ (proto << 16) ^ tot_len))
}

fn lpm_route(frame: &[u8]) -> Option<u64> {
    ipv4(frame)?;
    Some((u64::from(route_of(be32(frame, 30)?)) << 32) | u64::from(route_of(be32(frame, 26)?)))
}

/// The result of a program without a native build, computed in Rust.
fn model(name: &str, frame: &[u8]) -> Option<u64> {
    let key = mapop_key(frame);
    Some(match name {
        "flow_table" => flow_table(frame).unwrap_or(0),
        "lpm_route" => lpm_route(frame).unwrap_or(0),
        "mapop_none" | "mapop_hash_update" | "mapop_array_update" | "mapop_lru_update" => {
            u64::from(key)
        }
        "mapop_hash_lookup" | "mapop_array_lookup" | "mapop_lru_lookup" => sequential_value(key),
        "mapop_lpm_lookup" => be32(frame, 30).map_or(u64::MAX, |a| u64::from(route_of(a))),
        _ => return None,
    })
}

/// Programs with maps or helpers have no raw entry point; crc32_table's
/// reads its table from .rodata. rbpf runs the rest.
fn rbpf_runs(p: &CProgram) -> bool {
    let plain = !matches!(
        p.category(),
        Category::Maps | Category::Helpers | Category::MapOp
    );
    plain && p.name() != "crc32_table"
}

fn all_programs() -> impl Iterator<Item = &'static CProgram> {
    PROGRAMS.iter().chain(MAP_OPS)
}

fn frames_of(p: &CProgram) -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = TEST_FRAMES.iter().map(|f| f.build()).collect();
    frames.push(p.frame().build());
    frames
}

#[test]
fn suite_is_large_enough_and_names_are_unique() {
    assert!(PROGRAMS.len() >= 20, "{} programs", PROGRAMS.len());
    let mut names: Vec<&str> = all_programs().map(|p| p.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), PROGRAMS.len() + MAP_OPS.len());
}

/// The reference run (Waggle's checked run, compared inside `reference`
/// with the native build when there is one) gives the native or modelled
/// result on every test frame, and every engine agrees or is expected not
/// to run the program.
#[test]
fn every_engine_agrees_with_native_on_every_frame() {
    let mut failures = Vec::new();
    for p in all_programs() {
        for (i, frame) in frames_of(p).into_iter().enumerate() {
            let len = frame.len();
            let workload = Workload::on(p, frame);
            let expected = match (model(p.name(), &workload.frame), p.native()) {
                (Some(m), _) => m,
                (None, super::programs::Native::Available(f)) => {
                    super::native::call(f, &workload.frame)
                }
                (None, _) => panic!("{} has neither a native build nor a model", p.name()),
            };
            match reference(&workload) {
                Ok(r) if r.result == expected => {}
                Ok(r) => failures.push(format!(
                    "{} ({len} B): Waggle {:#x}, expected {expected:#x}",
                    p.name(),
                    r.result
                )),
                Err(f) => failures.push(format!("{f} ({len} B)")),
            }
            for engine in Engine::ALL {
                // Loading into the kernel verifies the whole program again
                // (seconds for the largest): once per program is enough.
                if engine == Engine::Kernel && i > 0 {
                    continue;
                }
                let runs = match engine {
                    // Every program passes the kernel verifier; where the
                    // kernel is unavailable it reports "unsupported".
                    Engine::Kernel => waggle_kernel::availability().is_ok(),
                    Engine::Native => matches!(p.native(), super::programs::Native::Available(_)),
                    // The runtime runs every program on each of its engines.
                    Engine::Waggle | Engine::WaggleJit | Engine::WaggleUnchecked => true,
                    Engine::Rbpf | Engine::RbpfJit => rbpf_runs(p),
                };
                match (engine.prepare(&workload), runs) {
                    (Ok(prepared), true) if prepared.observed.matches(expected) => {}
                    (Ok(prepared), true) => failures.push(format!(
                        "{} on {engine} ({len} B): {}, expected {}",
                        p.name(),
                        prepared.observed,
                        Observed::Result(expected)
                    )),
                    (Err(BackendError::Unsupported(_)), false) => {}
                    (Ok(_), false) => failures.push(format!(
                        "{} on {engine}: runs, but the test expects n/a",
                        p.name()
                    )),
                    (Err(e), _) => {
                        failures.push(format!("{} on {engine} ({len} B): {e}", p.name()))
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The programs' results depend on the frame: the test frames give
/// different results for each program that reads more than one header.
#[test]
fn results_differ_between_frames() {
    for p in PROGRAMS.iter().filter(|p| p.category() != Category::Maps) {
        let results: Vec<u64> = frames_of(p)
            .into_iter()
            .map(|f| reference(&Workload::on(p, f)).map(|r| r.result))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut distinct = results.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() >= 3, "{}: {results:x?}", p.name());
    }
}

/// `route_of` is the longest prefix match over what `Fill::Routes` inserts.
#[test]
fn route_model_is_the_longest_prefix_match_of_the_routes() {
    let entries = Fill::Routes { map: "routes" }.entries();
    let lpm = |addr: u32| {
        entries
            .iter()
            .filter_map(|(key, value)| {
                let prefix = u32::from_le_bytes(bytes(key, 0)?);
                let net = u32::from_be_bytes(bytes(key, 4)?);
                let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                let route = u32::from_le_bytes(bytes(value, 0)?);
                (addr & mask == net).then_some((prefix, route))
            })
            .max()
            .map(|(_, v)| v)
    };
    for addr in [
        0x0a01_0203u32,
        0x0a3f_0300,
        0x0a40_0000,
        0x0a05_0900,
        0xc000_0201,
        0,
    ] {
        assert_eq!(Some(route_of(addr)), lpm(addr), "{addr:#x}");
    }
}
