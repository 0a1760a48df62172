//! Every committed fuzz input (`corpus/<target>/*`) through its target's checks, as an ordinary
//! test: what the fuzzer once found (and the seeds) can never come back unnoticed in CI, where no
//! fuzzing runs. Long fuzzing is `scripts/fuzz-smoke`, by hand.

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, run) in vouch_fuzz::targets::ALL {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{}: no corpus inputs", dir.display());
        for path in &inputs {
            let data = std::fs::read(path).expect("corpus input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{} failed its checks", path.display());
        }
    }
}

/// The replay above finds every target's folder: a target added without a corpus, or a corpus
/// folder without a target, is a mistake.
#[test]
fn every_corpus_folder_has_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut folders: Vec<String> = std::fs::read_dir(&root)
        .expect("corpus/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut targets: Vec<&str> = vouch_fuzz::targets::ALL.iter().map(|(n, _)| *n).collect();
    targets.sort();
    assert_eq!(folders, targets);
}
