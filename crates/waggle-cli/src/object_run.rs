//! `waggle run` on an ELF object: Waggle's `BPF_PROG_TEST_RUN`.
//!
//! The program is verified first and then runs on the JIT; with
//! `--no-verify` (or `--interp`) it runs in the interpreter's checked mode,
//! which needs no verifier. The report names the engine that ran.

use crate::failure::Failure;
use crate::maps_dump::{dump_maps, MapDump};
use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use waggle_maps::{PerfEventArray, RingBuf};
use waggle_runtime::{Engine, LoadOptions, LoadedObject, LoadedProgram, ProgramType, RunConfig};

/// What to run and on what.
pub struct ObjectRun<'a> {
    pub file: &'a Path,
    pub program: Option<&'a str>,
    pub section: Option<&'a str>,
    pub data: Option<&'a Path>,
    pub ctx: Option<&'a Path>,
    pub pcap: Option<&'a Path>,
    pub pcap_out: Option<&'a PathBuf>,
    pub repeat: u64,
    pub budget: Option<u64>,
    pub dump_maps: bool,
    pub json: bool,
    /// `None`: the JIT if verified, else the checked interpreter.
    pub backend: Option<crate::backend::Backend>,
    /// `--interp`: the checked interpreter even for a verified program.
    pub interp: bool,
    /// `--blind-constants`: JIT compilation with constant blinding.
    pub blind_constants: bool,
    /// Verify the program before running it.
    pub verify: bool,
}

impl ObjectRun<'_> {
    /// How Waggle's runtime loads the object.
    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            blind_constants: self.blind_constants,
            ..LoadOptions::default()
        }
    }
}

/// The name of a return value, for program types whose values have names.
pub fn verdict_name(prog_type: ProgramType, retval: u64) -> Option<&'static str> {
    match prog_type {
        ProgramType::Xdp => Some(match retval {
            0 => "XDP_ABORTED",
            1 => "XDP_DROP",
            2 => "XDP_PASS",
            3 => "XDP_TX",
            4 => "XDP_REDIRECT",
            _ => return None,
        }),
        ProgramType::SchedCls | ProgramType::SchedAct => Some(match retval as i32 {
            -1 => "TC_ACT_UNSPEC",
            0 => "TC_ACT_OK",
            1 => "TC_ACT_RECLASSIFY",
            2 => "TC_ACT_SHOT",
            3 => "TC_ACT_PIPE",
            4 => "TC_ACT_STOLEN",
            5 => "TC_ACT_QUEUED",
            6 => "TC_ACT_REPEAT",
            7 => "TC_ACT_REDIRECT",
            8 => "TC_ACT_TRAP",
            _ => return None,
        }),
        _ => None,
    }
}

/// Whether a packet with this result goes on: written to the output pcap.
fn passes(prog_type: ProgramType, retval: u64) -> bool {
    match prog_type {
        // PASS, TX and REDIRECT all send the packet somewhere.
        ProgramType::Xdp => (2..=4).contains(&retval),
        ProgramType::SchedCls | ProgramType::SchedAct => !matches!(retval as i32, 2 | 4),
        // Socket filters return how many bytes to keep; 0 drops.
        _ => retval != 0,
    }
}

pub fn pick<'o>(
    obj: &'o LoadedObject,
    program: Option<&str>,
    section: Option<&str>,
) -> Result<&'o LoadedProgram, Failure> {
    let matching: Vec<&LoadedProgram> = obj
        .programs()
        .iter()
        .filter(|p| program.is_none_or(|n| p.name == n) && section.is_none_or(|s| p.section == s))
        .collect();
    let list = || {
        obj.programs()
            .iter()
            .map(|p| format!("{} ({})", p.name, p.section))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(Failure::BadInput(format!(
            "no program matches; the object has: {}",
            list()
        ))),
        _ => Err(Failure::BadInput(format!(
            "the object has several programs; choose one with --program: {}",
            list()
        ))),
    }
}

#[derive(Serialize)]
struct Event {
    map: String,
    cpu: Option<u32>,
    data: String,
}

#[derive(Serialize)]
struct SingleReport<'a> {
    program: &'a str,
    section: &'a str,
    prog_type: &'static str,
    retval: u64,
    verdict: Option<&'static str>,
    /// The engine that ran the program: `jit`, or `interp` (checked).
    engine: &'static str,
    /// How long the JIT took to compile the program (`null` off the JIT).
    jit_compile_us: Option<u128>,
    /// Instructions executed (`null` on the JIT, which does not count them).
    instructions: Option<u64>,
    runs: u64,
    mean_ns: u128,
    packet_out: Option<String>,
    redirect: Option<String>,
    trace: Vec<String>,
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maps: Option<Vec<MapDump>>,
}

#[derive(Serialize)]
struct PcapReport<'a> {
    program: &'a str,
    section: &'a str,
    prog_type: &'static str,
    engine: &'static str,
    jit_compile_us: Option<u128>,
    packets: u64,
    verdicts: BTreeMap<String, u64>,
    written: u64,
    mean_ns: u128,
    trace: Vec<String>,
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maps: Option<Vec<MapDump>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ring buffer records and perf events the run produced, drained.
fn drain_events(obj: &LoadedObject) -> Vec<Event> {
    let mut out = Vec::new();
    for (name, map) in obj.maps() {
        if let Some(ring) = map.as_any().downcast_ref::<RingBuf>() {
            out.extend(ring.drain().into_iter().map(|d| Event {
                map: name.to_string(),
                cpu: None,
                data: hex(&d),
            }));
        } else if let Some(perf) = map.as_any().downcast_ref::<PerfEventArray>() {
            out.extend(perf.drain().into_iter().map(|(cpu, d)| Event {
                map: name.to_string(),
                cpu: Some(cpu),
                data: hex(&d),
            }));
        }
    }
    out
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", path.display())))
}

/// The engine a single-backend run asks for, once verification is settled.
fn engine_for(run: &ObjectRun<'_>, verified: bool) -> Result<Engine, Failure> {
    use crate::backend::Backend;
    match run.backend {
        Some(Backend::Jit) if !verified => Err(Failure::BadInput(
            "--backend jit runs verified programs only; drop --no-verify".into(),
        )),
        Some(Backend::Jit) => Ok(Engine::Jit),
        Some(Backend::Interp) => Ok(Engine::Interp),
        _ if run.interp || !verified => Ok(Engine::Interp),
        _ => Ok(Engine::Jit),
    }
}

/// `jit_compile_us` of a report: the compile time when the JIT ran.
fn compile_us(prog: &LoadedProgram, engine: Engine) -> Option<u128> {
    (engine == Engine::Jit)
        .then(|| prog.jit_compile_time())
        .flatten()
        .map(|d| d.as_micros())
}

/// The engine line of the text report.
fn engine_line(prog: &LoadedProgram, engine: Engine) -> String {
    match engine {
        Engine::Jit => match prog.jit_compile_time() {
            Some(d) => format!("engine: jit (compiled in {} µs)", d.as_micros()),
            None => "engine: jit".to_string(),
        },
        other => format!("engine: {other} (checked)"),
    }
}

pub fn main(run: ObjectRun<'_>) -> Result<(), Failure> {
    use crate::backend::Backend;
    if matches!(run.backend, Some(Backend::Kernel | Backend::All)) {
        return run_backends(&run);
    }
    let obj = LoadedObject::from_file(run.file, &run.load_options()).map_err(Failure::bad_input)?;
    let prog = pick(&obj, run.program, run.section)?;
    if run.verify {
        crate::verify::check_before_run(&obj.object, &prog.name)?;
    }
    let engine = engine_for(&run, run.verify)?;
    let cfg = RunConfig {
        budget: run.budget,
        repeat: u32::try_from(run.repeat.max(1)).unwrap_or(u32::MAX),
        ..RunConfig::default()
    };
    if let Some(pcap) = run.pcap {
        return run_pcap(&obj, prog, pcap, run.pcap_out, &cfg, &run, engine);
    }
    if run.pcap_out.is_some() {
        return Err(Failure::BadInput("--pcap-out needs --pcap".into()));
    }
    let repeat = run.repeat.max(1);
    let data = run.data.map(read).transpose()?;
    let mut ctx = run.ctx.map(read).transpose()?;
    // SAFETY (each arm): `engine` is the checked interpreter, or the JIT for
    // a program the verifier accepted above.
    let result = match (&data, &mut ctx) {
        (Some(data), _) => unsafe { obj.run_packet_with(prog, data, &cfg, engine) },
        (None, Some(ctx)) => unsafe { obj.run_raw_with(prog, ctx, &cfg, engine) },
        (None, None) if prog.ctx == waggle_runtime::context::CtxKind::Raw => unsafe {
            obj.run_raw_with(prog, &mut [], &cfg, engine)
        },
        (None, None) => {
            return Err(Failure::BadInput(format!(
                "program `{}` is a {} program: give it a packet with --data FILE or --pcap FILE",
                prog.name, prog.prog_type
            )))
        }
    }
    .map_err(|e| Failure::Program(e.to_string()))?;
    let trace = result.trace.clone();
    let report = SingleReport {
        program: &prog.name,
        section: &prog.section,
        prog_type: prog.prog_type.name(),
        retval: result.retval,
        verdict: verdict_name(prog.prog_type, result.retval),
        engine: result.engine.name(),
        jit_compile_us: compile_us(prog, result.engine),
        instructions: (result.engine != Engine::Jit).then_some(result.insns),
        runs: repeat,
        mean_ns: result.duration.as_nanos(),
        packet_out: result.packet.as_deref().map(hex),
        redirect: result.redirect.as_ref().map(|r| format!("{r:?}")),
        trace,
        events: drain_events(&obj),
        maps: run.dump_maps.then(|| dump_maps(&obj)),
    };
    if run.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::bad_input)?
        );
        return Ok(());
    }
    println!(
        "program {} ({}, section {})",
        report.program, report.prog_type, report.section
    );
    println!("{}", engine_line(prog, result.engine));
    match report.verdict {
        Some(v) => println!("retval: {} ({v})", report.retval),
        None => println!("retval: {} ({:#x})", report.retval, report.retval),
    }
    match report.instructions {
        Some(n) => println!("instructions: {n}"),
        None => println!("instructions: not counted (the JIT does not count them)"),
    }
    if repeat > 1 {
        println!("runs: {repeat}, mean time per run: {} ns", report.mean_ns);
    } else {
        println!("time: {} ns", report.mean_ns);
    }
    if let Some(r) = &report.redirect {
        println!("redirect: {r}");
    }
    if let Some(p) = &result.packet {
        println!("packet out ({} bytes):", p.len());
        for (i, chunk) in p.chunks(16).enumerate() {
            println!("  {:04x}  {}", i * 16, hex(chunk));
        }
    }
    print_trace_and_events(&report.trace, &report.events);
    if let Some(maps) = &report.maps {
        crate::maps_dump::print(maps);
    }
    Ok(())
}

fn print_trace_and_events(trace: &[String], events: &[Event]) {
    if !trace.is_empty() {
        println!("trace_printk:");
        for line in trace {
            println!("  {line}");
        }
    }
    if !events.is_empty() {
        println!("events:");
        for e in events {
            match e.cpu {
                Some(cpu) => println!("  {} (cpu {cpu}): {}", e.map, e.data),
                None => println!("  {}: {}", e.map, e.data),
            }
        }
    }
}

fn run_pcap(
    obj: &LoadedObject,
    prog: &LoadedProgram,
    input: &Path,
    output: Option<&PathBuf>,
    cfg: &RunConfig,
    run: &ObjectRun<'_>,
    engine: Engine,
) -> Result<(), Failure> {
    let file = std::fs::File::open(input)
        .map_err(|e| Failure::BadInput(format!("cannot open {}: {e}", input.display())))?;
    let mut reader = PcapReader::new(file)
        .map_err(|e| Failure::BadInput(format!("{}: not a pcap file: {e}", input.display())))?;
    let mut writer = match output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .map_err(|e| Failure::BadInput(format!("cannot create {}: {e}", path.display())))?;
            Some(
                PcapWriter::new(f)
                    .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?,
            )
        }
        None => None,
    };
    let mut verdicts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut packets, mut written, mut runs) = (0u64, 0u64, 0u64);
    let mut total = Duration::ZERO;
    let mut trace = Vec::new();
    let repeat = cfg.repeat.max(1);
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| {
            Failure::BadInput(format!("{}: packet {}: {e}", input.display(), packets + 1))
        })?;
        packets += 1;
        // SAFETY: `engine` is the checked interpreter, or the JIT for a
        // program the verifier accepted.
        let result = unsafe { obj.run_packet_with(prog, &packet.data, cfg, engine) }
            .map_err(|e| Failure::Program(format!("packet {packets}: {e}")))?;
        total += result.duration * repeat;
        runs += u64::from(repeat);
        trace.extend(result.trace.iter().cloned());
        let name = verdict_name(prog.prog_type, result.retval)
            .map_or_else(|| result.retval.to_string(), str::to_string);
        *verdicts.entry(name).or_default() += 1;
        if passes(prog.prog_type, result.retval) {
            if let (Some(w), Some(mut out)) = (writer.as_mut(), result.packet) {
                if matches!(prog.ctx, waggle_runtime::context::CtxKind::SkbSocket) {
                    // A socket filter keeps at most `retval` bytes.
                    out.truncate((result.retval as usize).min(out.len()).max(14));
                }
                let pkt = PcapPacket::new_owned(packet.timestamp, out.len() as u32, out);
                w.write_packet(&pkt)
                    .map_err(|e| Failure::BadInput(format!("writing pcap: {e}")))?;
                written += 1;
            }
        }
    }
    let report = PcapReport {
        program: &prog.name,
        section: &prog.section,
        prog_type: prog.prog_type.name(),
        engine: engine.name(),
        jit_compile_us: compile_us(prog, engine),
        packets,
        verdicts,
        written,
        mean_ns: if runs > 0 {
            total.as_nanos() / runs as u128
        } else {
            0
        },
        trace,
        events: drain_events(obj),
        maps: run.dump_maps.then(|| dump_maps(obj)),
    };
    if run.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::bad_input)?
        );
        return Ok(());
    }
    println!(
        "program {} ({}, section {})",
        report.program, report.prog_type, report.section
    );
    println!("{}", engine_line(prog, engine));
    println!("packets: {}", report.packets);
    for (v, n) in &report.verdicts {
        println!("  {v}: {n}");
    }
    println!("mean time per run: {} ns", report.mean_ns);
    if let Some(path) = output {
        println!("wrote {} packets to {}", report.written, path.display());
    }
    print_trace_and_events(&report.trace, &report.events);
    if let Some(maps) = &report.maps {
        crate::maps_dump::print(maps);
    }
    Ok(())
}

#[derive(Serialize)]
struct BackendReport {
    program: String,
    backends: Vec<String>,
    /// Backends that could not run here, with the reason.
    skipped: Option<String>,
    packets: u64,
    /// Per packet: each backend's return value (by backend order).
    retvals: Vec<Vec<u64>>,
    verdicts: BTreeMap<String, u64>,
    differences: Vec<crate::backend::Difference>,
}

/// `--backend kernel` and `--backend all`: the same inputs through each
/// backend; with several, every difference in return value, output packet,
/// map contents or ring buffer records is reported and the exit code is 1.
fn run_backends(run: &ObjectRun<'_>) -> Result<(), Failure> {
    use crate::backend::{compare_runs, compare_state, engines, Backend};
    let backend = run.backend.unwrap_or(Backend::All);
    // Waggle's view of the object names programs and maps for every backend.
    let defs =
        LoadedObject::from_file(run.file, &LoadOptions::default()).map_err(Failure::bad_input)?;
    let prog = pick(&defs, run.program, run.section)?;
    if prog.ctx == waggle_runtime::context::CtxKind::Raw {
        return Err(Failure::BadInput(format!(
            "--backend {backend:?} runs packet programs; `{}` is a {} program",
            prog.name, prog.prog_type
        )));
    }
    // The JIT backend runs only what the verifier accepted.
    let verified = if !run.verify {
        Err("not verified (--no-verify)".to_string())
    } else {
        match crate::verify::rejection(&defs.object, &prog.name)? {
            None => Ok(()),
            Some(_) => Err(format!(
                "the verifier rejected `{}` (`waggle verify` says why)",
                prog.name
            )),
        }
    };
    let (engines, skipped) = engines(run.file, backend, verified, &run.load_options())?;
    let packets: Vec<Vec<u8>> = match (run.data, run.pcap) {
        (Some(d), _) => vec![read(d)?],
        (None, Some(p)) => {
            let f = std::fs::File::open(p)
                .map_err(|e| Failure::BadInput(format!("cannot open {}: {e}", p.display())))?;
            let mut r = PcapReader::new(f)
                .map_err(|e| Failure::BadInput(format!("{}: not a pcap file: {e}", p.display())))?;
            let mut v = Vec::new();
            while let Some(pkt) = r.next_packet() {
                v.push(
                    pkt.map_err(|e| Failure::BadInput(format!("{}: {e}", p.display())))?
                        .data
                        .into_owned(),
                );
            }
            v
        }
        (None, None) => {
            return Err(Failure::BadInput(
                "give a packet with --data FILE or --pcap FILE".into(),
            ))
        }
    };
    let cfg = RunConfig {
        budget: run.budget,
        repeat: u32::try_from(run.repeat.max(1)).unwrap_or(u32::MAX),
        ..RunConfig::default()
    };
    let mut differences = Vec::new();
    let mut retvals: Vec<Vec<u64>> = Vec::new();
    let mut verdicts: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_packet = None;
    for (i, packet) in packets.iter().enumerate() {
        let obs = engines
            .iter()
            .map(|e| e.run(&prog.name, packet, &cfg))
            .collect::<Result<Vec<_>, _>>()?;
        differences.extend(compare_runs(&format!("packet {}", i + 1), &engines, &obs));
        last_packet = obs[0].packet.clone();
        let name = verdict_name(prog.prog_type, obs[0].retval)
            .map_or_else(|| obs[0].retval.to_string(), str::to_string);
        *verdicts.entry(name).or_default() += 1;
        retvals.push(obs.iter().map(|o| o.retval).collect::<Vec<u64>>());
    }
    if engines.len() == 1 && run.data.is_some() {
        return print_single_backend(run, &engines[0], &defs, prog, &retvals[0], last_packet);
    }
    differences.extend(compare_state(&engines, &defs)?);
    let report = BackendReport {
        program: prog.name.clone(),
        backends: engines.iter().map(|e| e.name().to_string()).collect(),
        skipped,
        packets: packets.len() as u64,
        retvals,
        verdicts,
        differences,
    };
    if run.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::bad_input)?
        );
    } else {
        println!(
            "program {} on {}",
            report.program,
            report.backends.join(", ")
        );
        if let Some(why) = &report.skipped {
            println!("skipped: {why}");
        }
        println!("packets: {}", report.packets);
        for (v, n) in &report.verdicts {
            println!("  {v}: {n}");
        }
        if report.backends.len() > 1 {
            if report.differences.is_empty() {
                println!("no differences");
            } else {
                println!("{} differences:", report.differences.len());
                for d in &report.differences {
                    println!(
                        "  {}: {} = {}, {} = {}",
                        d.what, d.backends[0], d.values[0], d.backends[1], d.values[1]
                    );
                }
            }
        }
    }
    if report.differences.is_empty() {
        Ok(())
    } else {
        Err(Failure::Program(format!(
            "{} differences between backends",
            report.differences.len()
        )))
    }
}

/// One packet on one backend: the same report `--backend interp` prints,
/// from what that backend can observe (the kernel keeps no trace lines).
fn print_single_backend(
    run: &ObjectRun<'_>,
    engine: &crate::backend::Engine,
    defs: &LoadedObject,
    prog: &LoadedProgram,
    retvals: &[u64],
    packet: Option<Vec<u8>>,
) -> Result<(), Failure> {
    let (maps, records) = engine.state(defs)?;
    let retval = retvals[0];
    let events: Vec<Event> = records
        .iter()
        .map(|r| Event {
            map: "ringbuf".into(),
            cpu: None,
            data: hex(r),
        })
        .collect();
    let map_dump: Option<Vec<MapDump>> = run.dump_maps.then(|| {
        maps.iter()
            .map(|(name, entries)| {
                let spec = defs.map(name).expect("same object").spec();
                MapDump {
                    name: name.clone(),
                    map_type: spec.map_type.name(),
                    key_size: spec.key_size,
                    value_size: spec.value_size,
                    max_entries: spec.max_entries,
                    entries: Some(
                        entries
                            .iter()
                            .map(|(k, v)| crate::maps_dump::Entry {
                                key: hex(k),
                                value: hex(v),
                            })
                            .collect(),
                    ),
                    truncated: false,
                }
            })
            .collect()
    });
    let report = SingleReport {
        program: &prog.name,
        section: &prog.section,
        prog_type: prog.prog_type.name(),
        retval,
        verdict: verdict_name(prog.prog_type, retval),
        engine: engine.name(),
        jit_compile_us: None,
        instructions: None,
        runs: 1,
        mean_ns: 0,
        packet_out: packet.as_deref().map(hex),
        redirect: None,
        trace: Vec::new(),
        events,
        maps: map_dump,
    };
    if run.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::bad_input)?
        );
        return Ok(());
    }
    println!(
        "program {} ({}, section {}) on {}",
        report.program,
        report.prog_type,
        report.section,
        engine.name()
    );
    match report.verdict {
        Some(v) => println!("retval: {} ({v})", report.retval),
        None => println!("retval: {} ({:#x})", report.retval, report.retval),
    }
    if let Some(p) = &packet {
        println!("packet out ({} bytes):", p.len());
        for (i, chunk) in p.chunks(16).enumerate() {
            println!("  {:04x}  {}", i * 16, hex(chunk));
        }
    }
    print_trace_and_events(&report.trace, &report.events);
    if let Some(maps) = &report.maps {
        crate::maps_dump::print(maps);
    }
    Ok(())
}
