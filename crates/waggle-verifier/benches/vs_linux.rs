//! Verification cost, Waggle against Linux, on every bundled example
//! program (`examples/c/*.bpf.o`) and on the XDP entry point (`xdp_NAME`)
//! of every benchmark program (`crates/waggle-bench/programs/c/NAME.bpf.o`,
//! larger programs with loops), side by side:
//!
//! ```text
//! cargo bench -p waggle-verifier --bench vs_linux
//! ```
//!
//! - Waggle: `verify` of the program as `waggle_object` links it (CO-RE
//!   against Waggle's types), the median of its own measured duration over
//!   many runs; memory is the peak of the bytes its kept states occupy
//!   (`VerifyStats::peak_state_bytes`: counted, not sampled).
//! - Linux: the same object linked with CO-RE against the running kernel's
//!   BTF, its maps created once beforehand (not timed), then the program
//!   loaded with `BPF_PROG_LOAD` many times: the median wall time of the
//!   system call without a log (what a loader waits: verification, then
//!   fixups and JIT compilation), and the median of the kernel's own
//!   `verification time` (`BPF_LOG_STATS`, the verifier alone). Memory is
//!   estimated: the kernel's peak number of kept states times the size of
//!   one (its `bpf_verifier_state_list`, `bpf_verifier_state`, one
//!   `bpf_func_state` and a `bpf_stack_state` per 8 bytes of the program's
//!   stack depth, sizes read from the kernel's BTF).
//!
//! Ratios are Linux's time over Waggle's (above 1: Waggle is faster).
//! Without the kernel (not root, no BTF) only Waggle's columns are printed.
//! `WAGGLE_BENCH_RUNS` sets the number of runs (default 200 for Waggle, a
//! tenth of that for the kernel), fewer for programs whose verification
//! takes long (about two seconds of runs per program and verifier, at least
//! five runs). The last lines are geometric means over every program: time
//! ratios, instructions processed and memory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use waggle_btf::{Btf, BtfKind};
use waggle_kernel::{
    availability, load_raw_with_maps, KernelMaps, VerifierLog, VerifierStats, VMLINUX_BTF,
};
use waggle_object::{CoreTarget, Object};
use waggle_verifier::{verify, VerifyOptions};

const OBJECTS: [&str; 8] = [
    "xdp_drop_icmp.bpf.o",
    "xdp_proto_count.bpf.o",
    "xdp_lb.bpf.o",
    "tc_rewrite.bpf.o",
    "ringbuf_events.bpf.o",
    "tail_calls.bpf.o",
    "subprog_globals.bpf.o",
    "core_read.bpf.o",
];

/// Runs of a measurement taking `once`: at most `max`, about two seconds'
/// worth, at least five.
fn runs_for(once: Duration, max: usize) -> usize {
    let fit = (2.0 / once.as_secs_f64().max(1e-9)) as usize;
    fit.clamp(5.min(max), max.max(1))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// Bytes of one kernel verifier state for a program of `stack_depth`
/// bytes of stack, from the kernel's BTF (`None` without it).
fn kernel_state_bytes(vmlinux: &Btf, stack_depth: u64) -> Option<u64> {
    let size = |name: &str| -> Option<u64> {
        let id = vmlinux.find_type(BtfKind::Struct, name)?;
        vmlinux.size_of(id).ok().map(u64::from)
    };
    Some(
        size("bpf_verifier_state_list")?
            + size("bpf_verifier_state")?
            + size("bpf_func_state")?
            + stack_depth.div_ceil(8) * size("bpf_stack_state")?,
    )
}

/// The first `stack depth N` (the main program's) of a stats log.
fn stack_depth(log: &str) -> u64 {
    log.lines()
        .find_map(|l| l.strip_prefix("stack depth "))
        .map(|d| {
            d.split('+')
                .filter_map(|n| n.trim().parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter may follow.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let runs: usize = std::env::var("WAGGLE_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let kernel_runs = (runs / 10).max(5);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c");
    let kernel = availability();
    let vmlinux = match &kernel {
        Ok(()) => std::fs::read(VMLINUX_BTF)
            .ok()
            .and_then(|b| Btf::parse(&b).ok()),
        Err(reason) => {
            println!("kernel columns skipped: {reason}");
            None
        }
    };
    println!(
        "Waggle: median of {runs} runs; Linux: median of {kernel_runs} loads \
         (kernel {})",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "{:<40} {:>5} | {:>9} {:>6} {:>8} {:>9} | {:>9} {:>6} {:>8} {:>9} {:>9} | {:>7} {:>7} {:>6}",
        "program",
        "insns",
        "W proc",
        "W peak",
        "W KiB",
        "W us",
        "L proc",
        "L peak",
        "L KiB~",
        "L verif",
        "L load",
        "verif x",
        "load x",
        "mem x"
    );
    // (directory, object file, the one program to measure or all of them)
    let mut objects: Vec<(PathBuf, String, Option<String>)> = OBJECTS
        .iter()
        .map(|f| (dir.clone(), f.to_string(), None))
        .collect();
    let bench_dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/waggle-bench/programs/c");
    let mut bench: Vec<String> = std::fs::read_dir(&bench_dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".bpf.o"))
                .collect()
        })
        .unwrap_or_default();
    bench.sort();
    for file in bench {
        let prog = format!("xdp_{}", file.trim_end_matches(".bpf.o"));
        objects.push((bench_dir.clone(), file, Some(prog)));
    }
    // (verification time ratio, load time ratio, processed Linux / Waggle,
    // memory Linux / Waggle)
    let mut ratios: Vec<(f64, f64, f64, Option<f64>)> = Vec::new();
    for (dir, file, only) in &objects {
        let file = file.as_str();
        if filter.as_deref().is_some_and(|f| !file.contains(f)) {
            continue;
        }
        let data = std::fs::read(dir.join(file)).expect("object");
        let obj = Object::parse(file, &data).expect("parses");
        let kobj = vmlinux.as_ref().map(|v| {
            Object::parse_for(file, &data, CoreTarget::Btf(v)).expect("parses for vmlinux")
        });
        let kmaps = kobj
            .as_ref()
            .map(|k| KernelMaps::create(file, &k.maps).expect("maps"));
        for (k, prog) in obj.programs.iter().enumerate() {
            if only.as_ref().is_some_and(|p| *p != prog.name) {
                continue;
            }
            let opts = VerifyOptions::default();
            let first = verify(prog, &obj.maps, &opts)
                .unwrap_or_else(|e| panic!("{file}: {}: {e}", prog.name));
            let runs = runs_for(first.duration, runs);
            let times: Vec<Duration> = (0..runs)
                .map(|_| verify(prog, &obj.maps, &opts).unwrap().duration)
                .collect();
            let w_time = median(times);
            let w_kib = first.peak_state_bytes as f64 / 1024.0;
            let name = format!("{}/{}", file.trim_end_matches(".bpf.o"), prog.name);
            let mut line = format!(
                "{name:<40} {:>5} | {:>9} {:>6} {:>8.1} {:>9} |",
                prog.insns.len(),
                first.insns_processed,
                first.peak_states,
                w_kib,
                us(w_time)
            );
            if let (Some(kobj), Some(kmaps), Some(vmlinux)) = (&kobj, &kmaps, &vmlinux) {
                let kp = &kobj.programs[k];
                let load = |log| {
                    load_raw_with_maps(&kp.insns, kp.prog_type, &kp.name, kmaps, log)
                        .unwrap_or_else(|e| panic!("{name}: {e}"))
                };
                let t = Instant::now();
                let stats_log = load(VerifierLog::Stats).verifier_log;
                let kernel_runs = runs_for(t.elapsed(), kernel_runs);
                let stats = VerifierStats::parse(&stats_log).unwrap_or_default();
                let verif: Vec<Duration> = (0..kernel_runs)
                    .map(|_| {
                        let log = load(VerifierLog::Stats).verifier_log;
                        let s = VerifierStats::parse(&log).unwrap_or_default();
                        Duration::from_micros(s.verification_time_us)
                    })
                    .collect();
                let loads: Vec<Duration> = (0..kernel_runs)
                    .map(|_| {
                        let t = Instant::now();
                        let p = load(VerifierLog::Skip);
                        let d = t.elapsed();
                        drop(p);
                        d
                    })
                    .collect();
                let (l_verif, l_load) = (median(verif), median(loads));
                let l_kib = kernel_state_bytes(vmlinux, stack_depth(&stats_log))
                    .map(|b| (b * stats.peak_states) as f64 / 1024.0);
                let vx = l_verif.as_secs_f64() / w_time.as_secs_f64();
                let lx = l_load.as_secs_f64() / w_time.as_secs_f64();
                let mx = l_kib.map(|l| l / w_kib.max(1e-9));
                let px = stats.insns_processed as f64 / first.insns_processed.max(1) as f64;
                ratios.push((vx, lx, px, mx));
                line += &format!(
                    " {:>9} {:>6} {:>8} {:>9} {:>9} | {:>7.2} {:>7.2} {:>6}",
                    stats.insns_processed,
                    stats.peak_states,
                    l_kib.map_or("?".into(), |k| format!("{k:.1}")),
                    us(l_verif),
                    us(l_load),
                    vx,
                    lx,
                    mx.map_or("?".into(), |m| format!("{m:.2}")),
                );
            }
            println!("{line}");
        }
    }
    if !ratios.is_empty() {
        let geo = |v: Vec<f64>| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp();
        println!(
            "geometric mean over {} programs: Linux verification time / Waggle {:.2}, \
             Linux load time / Waggle {:.2}, Linux processed / Waggle {:.2}, \
             Linux memory / Waggle {:.2}",
            ratios.len(),
            geo(ratios.iter().map(|r| r.0).collect()),
            geo(ratios.iter().map(|r| r.1).collect()),
            geo(ratios.iter().map(|r| r.2).collect()),
            geo(ratios.iter().filter_map(|r| r.3).collect()),
        );
    }
}
