//! Prints what the loader makes of an object: `cargo run -p waggle-object --example inspect -- FILE.o`.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: inspect FILE.o");
        std::process::exit(2);
    };
    let data = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    match waggle_object::Object::parse(&path, &data) {
        Ok(obj) => {
            for m in &obj.maps {
                println!(
                    "map {} type {} key {} value {} max {} flags {:#x} slots {:?}",
                    m.name,
                    m.map_type,
                    m.key_size,
                    m.value_size,
                    m.max_entries,
                    m.flags,
                    m.initial_slots
                );
            }
            for p in &obj.programs {
                println!(
                    "prog {} ({}, {}) {} insns, {} lines",
                    p.name,
                    p.section,
                    p.prog_type,
                    p.insns.len(),
                    p.lines.iter().flatten().count()
                );
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
