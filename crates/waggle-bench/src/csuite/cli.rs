//! The command line of `cargo bench -p waggle-bench --bench suite [-- OPTIONS]
//! [FILTER...]`; `waggle bench` can parse the same options into
//! [`SuiteOptions`].

use super::engine::Engine;
use super::programs::{MAP_OPS, PROGRAMS};
use super::render::render;
use super::run::{run_suite_with_progress, SuiteOptions};
use crate::render::Format;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: waggle bench [OPTIONS] [FILTER...]
       cargo bench -p waggle-bench --bench suite -- [OPTIONS] [FILTER...]

Runs the C suite's programs whose name contains any FILTER (all without one)
on every engine that can run them, after checking that all compute the same
result, and prints ns per run, ratios to the kernel and to native code, and the map
benchmarks' ns per operation.

options:
  --json          print the report as JSON
  --markdown      print the report as Markdown tables
  --quick         short measurements (a few seconds in all), for CI
  --time-ms N     measuring time per program and engine (default 250)
  --engine NAME   only this engine (repeatable): kernel, native, waggle-jit,
                  waggle, waggle-unchecked, rbpf, rbpf-jit
  --list          list the programs and exit
  -h, --help      show this help";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub options: SuiteOptions,
    pub format: Format,
    pub list: bool,
    pub help: bool,
}

impl Command {
    /// Parses arguments (without the program name). `--bench`, which
    /// `cargo bench` passes to every bench target, is ignored.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
        let mut command = Command {
            options: SuiteOptions::default(),
            format: Format::Text,
            list: false,
            help: false,
        };
        let mut engines = Vec::new();
        let mut time = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => {}
                "--json" => command.format = Format::Json,
                "--markdown" => command.format = Format::Markdown,
                "--quick" => {
                    command.options.settings = SuiteOptions::quick().settings;
                }
                "--list" => command.list = true,
                "-h" | "--help" => command.help = true,
                "--time-ms" => {
                    let value = args.next().ok_or("--time-ms needs a number")?;
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| format!("--time-ms: `{value}` is not a number"))?;
                    time = Some(Duration::from_millis(ms));
                }
                "--engine" => {
                    let value = args.next().ok_or("--engine needs a name")?;
                    let engine = Engine::from_name(&value)
                        .ok_or_else(|| format!("--engine: no engine `{value}`"))?;
                    engines.push(engine);
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                filter => command.options.filters.push(filter.to_string()),
            }
        }
        if let Some(target) = time {
            command.options.settings.target = target;
        }
        if !engines.is_empty() {
            command.options.engines = engines;
        }
        Ok(command)
    }
}

/// Runs the command line; the bench target's `main`.
pub fn main<I: IntoIterator<Item = String>>(args: I) -> ExitCode {
    let command = match Command::parse(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    if command.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if command.list {
        for p in PROGRAMS.iter().chain(MAP_OPS) {
            println!(
                "{:<20} {:<10} {}",
                p.name(),
                p.category().name(),
                p.description()
            );
        }
        return ExitCode::SUCCESS;
    }
    let output = run_suite_with_progress(&command.options, &mut |line| eprintln!("{line}"))
        .map_err(|e| e.to_string())
        .and_then(|r| render(&r, command.format).map_err(|e| format!("cannot write JSON: {e}")));
    crate::cli::finish(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        Command::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_formats_engines_filters_and_quick() -> Result<(), String> {
        let c = parse(&[
            "--bench",
            "crc",
            "--markdown",
            "--engine",
            "waggle",
            "--quick",
        ])?;
        assert_eq!(c.options.filters, ["crc"]);
        assert_eq!(c.format, Format::Markdown);
        assert_eq!(c.options.engines, [Engine::Waggle]);
        assert_eq!(c.options.settings, SuiteOptions::quick().settings);
        let c = parse(&["--time-ms", "40", "--quick"])?;
        assert_eq!(c.options.settings.target, Duration::from_millis(40));
        Ok(())
    }

    #[test]
    fn rejects_unknown_options_and_engines() {
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--engine", "jit"]).is_err());
        assert!(parse(&["--time-ms", "x"]).is_err());
    }
}
