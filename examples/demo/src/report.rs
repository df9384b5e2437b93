//! The self-test's tally: one `ok`/`FAIL` line per check, counted.

/// Counts and prints checks.
#[derive(Debug, Default)]
pub(crate) struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    /// Prints `ok   {line}` or `FAIL {line}` and answers `ok`.
    pub(crate) fn check(&mut self, ok: bool, line: &str) -> bool {
        println!("{} {line}", if ok { "ok  " } else { "FAIL" });
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        ok
    }

    /// Prints `FAIL {line}` for a step that could not run at all.
    pub(crate) fn fail(&mut self, line: &str) {
        self.check(false, line);
    }

    pub(crate) fn passed(&self) -> usize {
        self.passed
    }

    pub(crate) fn failed(&self) -> usize {
        self.failed
    }
}
