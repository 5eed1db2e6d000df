//! The test-guest runner's judgement, kept apart from the QEMU plumbing (in `xtask`) so it is
//! host-testable.
//!
//! A test guest is a PV kernel that runs as a DomU and ends by printing one line
//! `Test result: SUCCESS|SKIP|ERROR|FAILURE` and shutting down (the XTF convention). Its
//! verdict is that line, and it must be the guest's last: a guest that printed nothing of the
//! kind, or kept printing after it, did not finish the way it meant to and counts as crashed.
//! A run's verdict is its most severe guest's.

use std::fmt;

/// Verdicts, least severe first (the order `max` uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Success,
    Skip,
    Error,
    Failure,
    /// No result line as the last line: the guest crashed, hung or was killed.
    Crash,
}

impl Verdict {
    /// The word a test guest prints for this verdict (`None` for a crash, which it cannot).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Success => "SUCCESS",
            Verdict::Skip => "SKIP",
            Verdict::Error => "ERROR",
            Verdict::Failure => "FAILURE",
            Verdict::Crash => "CRASH",
        }
    }

    /// Whether a run with this verdict passes (skips are not failures).
    pub fn passed(self) -> bool {
        self <= Verdict::Skip
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

const PREFIX: &str = "Test result: ";

/// The verdict a single line announces, if it is a result line.
pub fn parse_result_line(line: &str) -> Option<Verdict> {
    let word = line.trim().strip_prefix(PREFIX)?.trim();
    [Verdict::Success, Verdict::Skip, Verdict::Error, Verdict::Failure].into_iter().find(|v| v.word() == word)
}

/// A guest's verdict from its console output, oldest line first.
pub fn verdict_of<'a>(lines: impl IntoIterator<Item = &'a str>) -> Verdict {
    let last = lines.into_iter().filter(|l| !l.trim().is_empty()).last();
    last.and_then(parse_result_line).unwrap_or(Verdict::Crash)
}

/// The most severe verdict of a run (an empty run is a success: nothing failed).
pub fn overall(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts.into_iter().max().unwrap_or(Verdict::Success)
}

/// The console lines of domain `domid` in hypervisor log text, where the hypervisor writes each
/// line a DomU prints as `(dN) text`.
pub fn domain_lines(log: &str, domid: u16) -> Vec<&str> {
    let tag = format!("(d{domid}) ");
    log.lines().filter_map(|l| l.find(&tag).map(|at| &l[at + tag.len()..])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines() {
        assert_eq!(parse_result_line("Test result: SUCCESS"), Some(Verdict::Success));
        assert_eq!(parse_result_line("  Test result: FAILURE \r"), Some(Verdict::Failure));
        assert_eq!(parse_result_line("Test result: success"), None, "exact words only");
        assert_eq!(parse_result_line("Test result: CRASH"), None, "a guest cannot claim a crash");
        assert_eq!(parse_result_line("result: SUCCESS"), None);
    }

    #[test]
    fn the_result_must_be_the_last_line() {
        assert_eq!(verdict_of(["booting", "Test result: SKIP"]), Verdict::Skip);
        assert_eq!(verdict_of(["Test result: SUCCESS", "", "  "]), Verdict::Success, "blank lines after are fine");
        assert_eq!(verdict_of(["Test result: SUCCESS", "oops: page fault"]), Verdict::Crash);
        assert_eq!(verdict_of(["booting"]), Verdict::Crash);
        assert_eq!(verdict_of(Vec::<&str>::new()), Verdict::Crash);
    }

    #[test]
    fn most_severe_wins() {
        use Verdict::*;
        assert_eq!(overall([Success, Skip, Success]), Skip);
        assert_eq!(overall([Success, Failure, Error]), Failure);
        assert_eq!(overall([Failure, Crash, Success]), Crash);
        assert_eq!(overall([]), Success);
        assert!(Skip.passed() && !Error.passed() && !Crash.passed());
    }

    #[test]
    fn lines_of_one_domain() {
        let log = "(XEN) [    1.000000] INFO  d3: created\n(d3) hello\n(d12) other\n(d3) Test result: SUCCESS\n";
        assert_eq!(domain_lines(log, 3), ["hello", "Test result: SUCCESS"]);
        assert_eq!(domain_lines(log, 12), ["other"]);
        assert!(domain_lines(log, 1).is_empty());
    }
}
