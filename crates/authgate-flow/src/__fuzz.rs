//! The entry point of the `redirect` cargo-fuzz target in the workspace's `fuzz/`
//! directory: not a public API, not covered by semver, hidden from the docs. Compiled
//! with the `fuzzing` feature, and in this crate's own tests, where the property tests
//! share its oracle and the entry point runs over the corpus checked into
//! `fuzz/corpus/redirect/`.

use url::Url;

use crate::redirect::{MAX_REDIRECT_LEN, safe_redirect_path};

/// A page of the frontend, the base a browser resolves the redirect against.
pub const FRONTEND_PAGE: &str = "https://app.example/deep/page?x=1#top";

/// How many rounds of percent-decoding the oracle looks through.
const ROUNDS: usize = 4;

/// One round of percent-decoding (`%` and two hex digits; anything else is kept).
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&first, tail)) = rest.split_first() {
        match tail {
            [hi, lo, after @ ..]
                if first == b'%' && hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() =>
            {
                let digit = |d: u8| (d as char).to_digit(16).expect("a hex digit") as u8;
                out.push(digit(*hi) << 4 | digit(*lo));
                rest = after;
            }
            _ => {
                out.push(first);
                rest = tail;
            }
        }
    }
    out
}

/// The value and what up to [`ROUNDS`] rounds of percent-decoding make of it.
fn forms(path: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![path.as_bytes().to_vec()];
    for _ in 0..ROUNDS {
        let next = percent_decode(forms.last().expect("never empty"));
        if Some(&next) == forms.last() {
            break;
        }
        forms.push(next);
    }
    forms
}

/// Panics unless one form of an accepted redirect is a local path.
fn assert_local_form(accepted: &str, form: &[u8]) {
    let shown = String::from_utf8_lossy(form);
    let text = std::str::from_utf8(form)
        .unwrap_or_else(|_| panic!("accepted {accepted:?}, which decodes to non-UTF-8 {shown:?}"));
    let mut bytes = form.iter();
    assert!(
        bytes.next() == Some(&b'/') && !matches!(bytes.next(), Some(b'/' | b'\\')),
        "accepted {accepted:?}, which does not start with exactly one `/` as {shown:?}"
    );
    assert!(
        !form.contains(&b'\\'),
        "accepted {accepted:?}, with a backslash in {shown:?}"
    );
    assert!(
        !text.chars().any(char::is_control),
        "accepted {accepted:?}, with a control character in {shown:?}"
    );
    let path = text.split(['?', '#']).next().unwrap_or("");
    assert!(
        !path
            .split('/')
            .any(|segment| segment == "." || segment == ".."),
        "accepted {accepted:?}, with a dot segment in {shown:?}"
    );
    // What a browser makes of it: on the page's origin, whether the frontend navigates
    // to it as a relative reference or glues it to its origin.
    let base = Url::parse(FRONTEND_PAGE).expect("a valid base");
    let resolved = base
        .join(text)
        .unwrap_or_else(|err| panic!("accepted {accepted:?}, unresolvable as {shown:?}: {err}"));
    let glued = Url::parse(&format!("{}{text}", base.origin().ascii_serialization()))
        .unwrap_or_else(|err| panic!("accepted {accepted:?}, unparsable as {shown:?}: {err}"));
    for url in [&resolved, &glued] {
        assert_eq!(
            url.origin(),
            base.origin(),
            "accepted {accepted:?}, which a browser takes to {url} as {shown:?}"
        );
    }
}

/// Runs the redirect validator and returns its answer.
///
/// # Panics
///
/// When it accepts a value that is longer than [`MAX_REDIRECT_LEN`], is changed, or,
/// as given or after up to four rounds of percent-decoding, does not start with
/// exactly one `/`, holds a backslash, a control character or a `.` or `..` path
/// segment, or resolves to another origin than the frontend's.
pub fn check_redirect(path: &str) -> Option<&str> {
    let accepted = safe_redirect_path(path)?;
    assert_eq!(accepted, path, "the accepted path is not the one given");
    assert!(path.len() <= MAX_REDIRECT_LEN, "accepted an overlong path");
    for form in forms(path) {
        assert_local_form(path, &form);
    }
    Some(accepted)
}

/// The `redirect` target: the bytes are the redirect value (UTF-8, lossily).
pub fn redirect(data: &[u8]) -> bool {
    check_redirect(&String::from_utf8_lossy(data)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn oracle_decoding_looks_through_four_rounds() {
        assert_eq!(percent_decode(b"/%2F%zz%4"), b"//%zz%4");
        assert_eq!(
            forms("/%2525252F"),
            [&b"/%2525252F"[..], b"/%25252F", b"/%252F", b"/%2F", b"//"]
        );
    }

    /// The entry point over the corpus checked into `fuzz/corpus/redirect/`: no input
    /// panics, and both answers occur.
    #[test]
    fn redirect_corpus() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/redirect");
        let (mut accepted, mut refused) = (0, 0);
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let ok = std::panic::catch_unwind(|| redirect(&bytes))
                .unwrap_or_else(|_| panic!("{} fails", path.display()));
            if ok {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            accepted > 0 && refused > 0,
            "{accepted} accepted, {refused} refused"
        );
        assert!(
            accepted + refused >= 5,
            "a corpus of {}",
            accepted + refused
        );
    }
}
