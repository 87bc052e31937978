//! `waggle verify`: prove each program of an object safe, or say why not.

use crate::failure::Failure;
use serde::Serialize;
use std::path::PathBuf;
use waggle_isa::{decode_slots, format_insn, Syntax};
use waggle_object::Object;
use waggle_verifier::{verify, verify_with_facts, Facts, VerifyOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The ELF object.
    file: PathBuf,
    /// Verify only this program.
    #[arg(long)]
    program: Option<String>,
    /// Print the verdicts as JSON.
    #[arg(long)]
    json: bool,
    /// Give up after this many processed instructions (Linux's limit is 1,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    max_insns: u64,
    /// Verify as Linux does for a loader without CAP_PERFMON
    /// (`allow_ptr_leaks` off): reject every way a pointer's address could
    /// become a number (32-bit or bitwise arithmetic on pointers, pointer
    /// differences, comparisons other than NULL and packet bounds checks,
    /// pointers stored outside the stack or passed to helpers as numbers).
    #[arg(long)]
    unprivileged: bool,
    /// 0: verdicts; 1: also each verified program's listing annotated with
    /// what the proof established (the region every access stays in,
    /// unreachable code); 2: also the constant and zero-extended registers
    /// each instruction reads.
    #[arg(long, default_value_t = 0)]
    log_level: u8,
}

#[derive(Serialize)]
struct Verdict {
    program: String,
    section: String,
    verified: bool,
    insns_processed: Option<u64>,
    peak_states: Option<usize>,
    total_states: Option<usize>,
    micros: Option<u128>,
    error: Option<serde_json::Value>,
}

pub fn main(args: Args) -> Result<(), Failure> {
    let data = std::fs::read(&args.file)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", args.file.display())))?;
    let obj = Object::parse(&args.file.display().to_string(), &data).map_err(Failure::bad_input)?;
    let opts = VerifyOptions {
        max_insns: args.max_insns,
        allow_ptr_leaks: !args.unprivileged,
    };
    let programs: Vec<_> = obj
        .programs
        .iter()
        .filter(|p| args.program.as_deref().is_none_or(|n| p.name == n))
        .collect();
    if programs.is_empty() {
        return Err(Failure::BadInput(format!(
            "no program matches; the object has: {}",
            obj.programs
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut verdicts = Vec::new();
    let mut rendered = Vec::new();
    let mut listings = Vec::new();
    for p in programs {
        match verify_with_facts(p, &obj.maps, &opts) {
            Ok((stats, facts)) => {
                if args.log_level > 0 {
                    listings.push(listing(p, &facts, args.log_level));
                }
                verdicts.push(Verdict {
                    program: p.name.clone(),
                    section: p.section.clone(),
                    verified: true,
                    insns_processed: Some(stats.insns_processed),
                    peak_states: Some(stats.peak_states),
                    total_states: Some(stats.total_states),
                    micros: Some(stats.duration.as_micros()),
                    error: None,
                })
            }
            Err(e) => {
                rendered.push((p.name.clone(), e.render()));
                verdicts.push(Verdict {
                    program: p.name.clone(),
                    section: p.section.clone(),
                    verified: false,
                    insns_processed: None,
                    peak_states: None,
                    total_states: None,
                    micros: None,
                    error: serde_json::from_str(&e.to_json()).ok(),
                });
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdicts).map_err(Failure::bad_input)?
        );
    } else {
        for v in &verdicts {
            if v.verified {
                println!(
                    "{} ({}): verified, {} instructions processed, {} states at peak, {} µs",
                    v.program,
                    v.section,
                    v.insns_processed.unwrap_or(0),
                    v.peak_states.unwrap_or(0),
                    v.micros.unwrap_or(0)
                );
            } else {
                println!("{} ({}): rejected", v.program, v.section);
            }
        }
        for text in &listings {
            println!("\n{text}");
        }
        for (name, text) in &rendered {
            eprintln!("\nprogram `{name}`:\n{text}");
        }
    }
    let rejected = verdicts.iter().filter(|v| !v.verified).count();
    if rejected > 0 {
        return Err(Failure::Program(format!(
            "{rejected} of {} programs rejected",
            verdicts.len()
        )));
    }
    Ok(())
}

/// A verified program's instructions with what the proof established.
fn listing(p: &waggle_object::ProgramDef, facts: &Facts, level: u8) -> String {
    use std::fmt::Write;
    let mut out = format!("{} ({}):\n", p.name, p.section);
    let Ok(decoded) = decode_slots(&p.insns) else {
        return out;
    };
    for (pc, insn) in decoded {
        let mut notes = Vec::new();
        if !facts.is_reachable(pc) {
            notes.push("unreachable".to_string());
        }
        if let Some(a) = facts.access(pc) {
            notes.push(format!("{:?}", a.region).to_lowercase());
        }
        if level >= 2 {
            for (reg, f) in facts.reads(pc) {
                match (f.constant, f.zext32) {
                    (Some(c), _) => notes.push(format!("r{reg} = {c:#x}")),
                    (None, true) => notes.push(format!("r{reg} zext32")),
                    _ => {}
                }
            }
        }
        let text = format_insn(&insn, Syntax::Llvm);
        let _ = if notes.is_empty() {
            writeln!(out, "{pc:>5}: {text}")
        } else {
            writeln!(out, "{pc:>5}: {text:<40} ; {}", notes.join(", "))
        };
    }
    out
}

/// Verifies program `name` of an already loaded `object` before it runs; the
/// error holds the rendered diagnostic.
pub fn check_before_run(object: &Object, name: &str) -> Result<(), Failure> {
    match rejection(object, name)? {
        None => Ok(()),
        Some(text) => Err(Failure::Program(format!(
            "the verifier rejected `{name}` (run with --no-verify to run it in checked mode anyway):\n{text}"
        ))),
    }
}

/// The rendered diagnostic when the verifier rejects program `name` of
/// `object`, `None` when it accepts it.
pub fn rejection(object: &Object, name: &str) -> Result<Option<String>, Failure> {
    let prog = object
        .programs
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Failure::BadInput(format!("no program `{name}`")))?;
    Ok(verify(prog, &object.maps, &VerifyOptions::default())
        .err()
        .map(|e| e.render()))
}
