//! The control for the loopback world: the reference implementation, run in the simulation in
//! process and run through `streamcheck adapter reference` over real TCP, gets the same verdict
//! for every scenario, except the declared sim-only ones, which are UNSUPPORTED on loopback with
//! their reason. This is what shows that the loopback world tells the truth about an
//! implementation: the same implementation, the same verdicts.

use std::path::Path;
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::run::world::sim_only_reason;
use streamcheck::scenario::load::load_dir;
use streamcheck::suite::{run_suite, SuiteOptions, Target};
use streamcheck::verdict::VerdictKind;

#[test]
fn the_reference_gets_the_same_verdicts_in_the_simulation_and_over_the_driver_protocol_on_loopback() {
    let (corpus, errors) = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let options = SuiteOptions { jobs: 2, ..SuiteOptions::default() };
    let sim = run_suite(corpus.clone(), &Target::SimReference, &options, &mut |_| {}).expect("the simulation runs");
    let adapter = AdapterSpec::new(&format!("{} adapter reference", env!("CARGO_BIN_EXE_streamcheck")));
    let real = run_suite(corpus.clone(), &Target::Adapter(adapter), &options, &mut |_| {}).expect("the reference adapter starts");
    let hello = real.hello.as_ref().expect("it said hello");
    assert_eq!((hello.name.as_str(), hello.protocol), ("streamcheck-reference", 2));
    let mut differ = Vec::new();
    let mut both = 0;
    for ((s, r), loaded) in sim.results.iter().zip(&real.results).zip(&corpus) {
        assert_eq!(s.loaded.id, r.loaded.id, "results come back in the corpus' order");
        match sim_only_reason(&loaded.scenario) {
            Some(why) => {
                assert_eq!(r.verdict.kind, VerdictKind::Unsupported, "{}: sim only ({why})", r.loaded.id);
                assert!(r.verdict.reason.as_deref().is_some_and(|x| x.contains(&why)), "{}: the reason is in the report", r.loaded.id);
            }
            None => {
                both += 1;
                if s.verdict.kind != r.verdict.kind {
                    differ.push(format!("{}: sim {} / loopback {}\n  {}", r.loaded.id, s.verdict.kind.label(), r.verdict.kind.label(), r.verdict.explain()));
                }
            }
        }
    }
    assert!(differ.is_empty(), "verdicts differ between the worlds:\n{}", differ.join("\n"));
    assert!(both * 5 >= corpus.len() * 4, "most of the corpus runs in both worlds: {both} of {}", corpus.len());
    assert_eq!(real.unstarted, 0, "the reference adapter sends `started` for every operation that waits");
}
