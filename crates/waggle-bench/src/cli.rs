//! The command line of `cargo bench -p waggle-bench --bench interp [-- OPTIONS]
//! [FILTER...]`.

use crate::backend::Backend;
use crate::measure::Settings;
use crate::registry::{select, BENCHES};
use crate::render::{render, Format};
use crate::suite;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: cargo bench -p waggle-bench --bench interp -- [OPTIONS] [FILTER...]

Runs the benchmark programs whose name contains any FILTER (all without one)
on Waggle's JIT and interpreter and on rbpf's interpreter, and prints ns per
run and rbpf/Waggle.

options:
  --json         print the report as JSON
  --markdown     print the report as a Markdown table
  --time-ms N    measuring time per program and backend (default 200)
  --list         list the programs and exit
  -h, --help     show this help";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub filters: Vec<String>,
    pub format: Format,
    pub target: Duration,
    pub list: bool,
    pub help: bool,
}

impl Options {
    /// Parses arguments (without the program name). `--bench`, which
    /// `cargo bench` passes to every bench target, is ignored.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
        let mut options = Options {
            filters: Vec::new(),
            format: Format::Text,
            target: Settings::default().target,
            list: false,
            help: false,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => {}
                "--json" => options.format = Format::Json,
                "--markdown" => options.format = Format::Markdown,
                "--list" => options.list = true,
                "-h" | "--help" => options.help = true,
                "--time-ms" => {
                    let value = args.next().ok_or("--time-ms needs a number")?;
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| format!("--time-ms: `{value}` is not a number"))?;
                    options.target = Duration::from_millis(ms);
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                filter => options.filters.push(filter.to_string()),
            }
        }
        Ok(options)
    }
}

/// Runs the command line; the bench target's `main`.
pub fn main<I: IntoIterator<Item = String>>(args: I) -> ExitCode {
    let options = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    if options.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if options.list {
        for b in BENCHES {
            println!(
                "{:<16} {:<11} {}",
                b.name(),
                format!("{:?}", b.category()).to_lowercase(),
                b.description()
            );
        }
        return ExitCode::SUCCESS;
    }
    let benches = select(&options.filters);
    if benches.is_empty() {
        eprintln!(
            "error: no program matches {:?} (see --list)",
            options.filters
        );
        return ExitCode::FAILURE;
    }
    let settings = Settings {
        target: options.target,
        ..Settings::default()
    };
    let report = suite::run(&benches, &Backend::ALL, &settings, &mut |line| {
        eprintln!("{line}")
    });
    let output = report
        .map_err(|e| e.to_string())
        .and_then(|r| render(&r, options.format).map_err(|e| format!("cannot write JSON: {e}")));
    crate::cli::finish(output)
}

/// Prints a benchmark's rendered report, or its error; the process's exit
/// code says which (both benchmark commands end this way).
pub fn finish(output: Result<String, String>) -> ExitCode {
    match output {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn ignores_cargo_bench_flag_and_collects_filters() -> Result<(), String> {
        let o = parse(&["--bench", "loop", "--json", "crc"])?;
        assert_eq!(o.filters, ["loop", "crc"]);
        assert_eq!(o.format, Format::Json);
        let o = parse(&["--time-ms", "50", "--markdown"])?;
        assert_eq!(o.target, Duration::from_millis(50));
        assert_eq!(o.format, Format::Markdown);
        Ok(())
    }

    #[test]
    fn rejects_unknown_options() {
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--time-ms"]).is_err());
        assert!(parse(&["--time-ms", "x"]).is_err());
    }
}
