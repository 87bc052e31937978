//! The corpus: small programs in uBPF assembly (`tests/corpus/*.s`), each
//! with its expected verdict (format in `common/mod.rs`); every verdict and
//! every rejection message must match.

mod common;

use common::{files, parse, Expect};
use waggle_verifier::verify;

#[test]
fn corpus() {
    let files = files();
    let (mut passed, mut failed) = (0, 0);
    let (mut accepts, mut rejects) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let case = match parse(path) {
            Ok(c) => c,
            Err(e) => {
                println!("FAIL {name}: {e}");
                failed += 1;
                continue;
            }
        };
        let result = verify(&case.prog, &case.maps, &case.opts);
        let outcome = match (&case.expect, &result) {
            (Expect::Accept, Ok(_)) => {
                accepts += 1;
                Ok(())
            }
            (Expect::Accept, Err(e)) => Err(format!("expected accept, got:\n{e}")),
            (Expect::Reject(m), Err(e)) if e.message.contains(m.as_str()) => {
                rejects += 1;
                Ok(())
            }
            (Expect::Reject(m), Err(e)) => {
                Err(format!("expected a rejection containing `{m}`, got:\n{e}"))
            }
            (Expect::Reject(m), Ok(s)) => Err(format!(
                "expected a rejection containing `{m}`, but it was accepted ({} insns processed)",
                s.insns_processed
            )),
        };
        match outcome {
            Ok(()) => passed += 1,
            Err(e) => {
                println!("FAIL {name}: {e}");
                failed += 1;
            }
        }
    }
    println!("corpus: {passed} passed, {failed} failed ({accepts} accepted, {rejects} rejected as expected)");
    assert!(files.len() >= 60, "only {} corpus files", files.len());
    assert_eq!(failed, 0, "{failed} corpus cases failed");
}
