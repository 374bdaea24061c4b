//! The corpus against adapters with one realistic streams bug each (harness/tests/adapters/broken/):
//! every one gets at least one FAIL, and the faithful adapter none. A test binary of its own, so
//! that nothing else runs beside it in wall time. `python3` (3.8 or later) must be on PATH.

use std::path::{Path, PathBuf};
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::scenario::load::load_dir;
use streamcheck::suite::{run_suite, SuiteOptions, Target};
use streamcheck::verdict::VerdictKind;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/adapters").join(name)
}

/// The corpus against each broken adapter: at least one FAIL each, and none for the faithful one.
#[test]
fn every_broken_adapter_fails_somewhere_and_the_faithful_one_nowhere() {
    let (corpus, errors) = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let options = SuiteOptions { jobs: 2, ..SuiteOptions::default() };
    let mut broken: Vec<PathBuf> = std::fs::read_dir(fixture("broken")).unwrap().map(|e| e.unwrap().path()).collect();
    broken.sort();
    assert!(broken.len() >= 6);
    for script in broken.iter().chain(std::iter::once(&fixture("faithful.py"))) {
        let target = Target::Adapter(AdapterSpec::new(&format!("python3 {}", script.display())));
        let run = run_suite(corpus.clone(), &target, &options, &mut |_| {}).expect("starts");
        let fails: Vec<&str> = run.results.iter().filter(|r| r.verdict.kind == VerdictKind::Fail).map(|r| r.loaded.id.as_str()).collect();
        let errors: Vec<&str> = run.results.iter().filter(|r| r.verdict.kind == VerdictKind::Error).map(|r| r.loaded.id.as_str()).collect();
        if script.ends_with("faithful.py") {
            assert!(fails.is_empty() && errors.is_empty(), "the faithful adapter: FAIL {fails:?}, ERROR {errors:?}");
        } else {
            assert!(!fails.is_empty(), "{} got no FAIL (ERROR: {errors:?})", script.display());
        }
    }
}
