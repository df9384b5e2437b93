//! Where the browser goes after login: only a path on the frontend itself.

/// The longest redirect path accepted, in bytes.
pub const MAX_REDIRECT_LEN: usize = 512;

/// Returns `path` when it is a safe local path, `None` otherwise.
///
/// Where the browser goes after login: only a path on the frontend itself.
///
/// `GET /login?redirect=/orders/42` keeps the path with the state; after the exchange
/// the frontend receives it back and navigates there. A value an attacker could use to
/// send the user to another site is refused, and the configured default is used
/// instead:
///
/// ```
/// use authgate_flow::safe_redirect_path;
///
/// assert_eq!(safe_redirect_path("/orders/42?tab=items#top"), Some("/orders/42?tab=items#top"));
/// assert_eq!(safe_redirect_path("//evil.example/"), None);      // protocol-relative URL
/// assert_eq!(safe_redirect_path("/\\evil.example/"), None);     // browsers read `\` as `/`
/// assert_eq!(safe_redirect_path("https://evil.example/"), None); // absolute URL
/// assert_eq!(safe_redirect_path("/%2F%2Fevil.example/"), None); // encoded `//`
/// assert_eq!(safe_redirect_path("/\r\nSet-Cookie:x=y"), None);  // control characters
/// assert_eq!(safe_redirect_path("/..//evil.example/"), None);   // dot segments
/// assert_eq!(safe_redirect_path("/.//evil.example/"), None);
/// ```
///
/// The rules, checked on the value as given and again after percent-decoding it (up
/// to four times, so double encoding does not help):
///
/// - it starts with exactly one `/` (not `//`, not `/\`);
/// - it holds no backslash and no control character (C0, DEL, C1), raw or encoded;
/// - no segment of its path is `.` or `..`, raw or encoded: a browser resolves
///   `/..//evil.example` to `//evil.example`, another site;
/// - it is at most [`MAX_REDIRECT_LEN`] bytes long.
#[must_use]
pub fn safe_redirect_path(path: &str) -> Option<&str> {
    if path.len() > MAX_REDIRECT_LEN || !is_local(path.as_bytes()) {
        return None;
    }
    let mut current = path.as_bytes().to_vec();
    for _ in 0..4 {
        let Some(decoded) = percent_decode(&current) else {
            return Some(path);
        };
        if !is_local(&decoded) {
            return None;
        }
        current = decoded;
    }
    // Still encoded after four rounds: nobody writes such a path by accident.
    None
}

/// The checks on one form of the value (raw bytes, possibly not UTF-8).
fn is_local(bytes: &[u8]) -> bool {
    match bytes {
        [b'/', second, ..] if *second == b'/' || *second == b'\\' => return false,
        [b'/', ..] => {}
        _ => return false,
    }
    if bytes.contains(&b'\\') || bytes.iter().any(|b| b.is_ascii_control()) {
        return false;
    }
    let path_end = bytes
        .iter()
        .position(|b| matches!(b, b'?' | b'#'))
        .unwrap_or(bytes.len());
    if bytes[..path_end]
        .split(|b| *b == b'/')
        .any(|segment| matches!(segment, b"." | b".."))
    {
        return false;
    }
    // C1 controls (U+0080..U+009F) and other Unicode controls, when the bytes are UTF-8.
    match std::str::from_utf8(bytes) {
        Ok(s) => !s.chars().any(char::is_control),
        // Decoded bytes that are not UTF-8 are no path anyone means to visit.
        Err(_) => false,
    }
}

/// One round of percent-decoding; `None` when there was nothing to decode.
fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi << 4 | lo);
            changed = true;
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_accepted() {
        for path in [
            "/",
            "/dashboard",
            "/orders/42",
            "/search?q=rust&page=2",
            "/a/b#section",
            "/caf%C3%A9",
            "/with%20space",
            "/percent%25sign",
            "/@user",
            "/café",
            "/a:b",
        ] {
            assert_eq!(safe_redirect_path(path), Some(path), "{path}");
        }
    }

    #[test]
    fn protocol_relative_and_backslash_forms_are_refused() {
        for path in [
            "//evil.example",
            "//evil.example/path",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/foo\\bar",
        ] {
            assert_eq!(safe_redirect_path(path), None, "{path}");
        }
    }

    #[test]
    fn absolute_urls_and_relative_paths_are_refused() {
        for path in [
            "https://evil.example/",
            "http://evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "evil.example",
            "dashboard",
            "",
            " /dashboard",
            "?redirect=/x",
            "#/x",
        ] {
            assert_eq!(safe_redirect_path(path), None, "{path:?}");
        }
    }

    #[test]
    fn encoded_variants_are_refused() {
        for path in [
            "/%2F%2Fevil.example",
            "/%2f%2fevil.example",
            "/%2Fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "%2F%2Fevil.example",
            "/%252F%252Fevil.example",
            "/%25252Fevil.example",
            "/%2525252F%2525252Fevil.example",
            "/%0d%0aSet-Cookie:%20x=y",
            "/%00",
            "/%7F",
            "/%C2%85",
            "/%FF%FE",
        ] {
            assert_eq!(safe_redirect_path(path), None, "{path}");
        }
    }

    #[test]
    fn dot_segments_are_refused_raw_and_encoded() {
        for path in [
            "/..//evil.example",
            "/.//evil.example",
            "/../x",
            "/./x",
            "/a/../b",
            "/a/..",
            "/a/.",
            "/%2e%2e//evil.example",
            "/%2E//evil.example",
            "/.%2e/x",
            "/%252e%252e/x",
            "/..?x=1",
        ] {
            assert_eq!(safe_redirect_path(path), None, "{path}");
        }
        // Dots inside a segment, or after the path, are fine.
        for path in [
            "/a.b",
            "/.well-known/x",
            "/...",
            "/x?next=/../y",
            "/x#/../y",
        ] {
            assert_eq!(safe_redirect_path(path), Some(path), "{path}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        for path in [
            "/\r\nLocation: //evil",
            "/\n",
            "/\t//evil",
            "/\0",
            "/\u{7f}",
            "/\u{85}",
            "/\u{9b}x",
        ] {
            assert_eq!(safe_redirect_path(path), None, "{path:?}");
        }
    }

    #[test]
    fn overlong_paths_are_refused() {
        let long = format!("/{}", "a".repeat(MAX_REDIRECT_LEN));
        assert_eq!(safe_redirect_path(&long), None);
        let max = format!("/{}", "a".repeat(MAX_REDIRECT_LEN - 1));
        assert_eq!(safe_redirect_path(&max), Some(max.as_str()));
    }

    #[test]
    fn percent_decoding_leaves_malformed_escapes() {
        assert_eq!(percent_decode(b"/a%2"), None);
        assert_eq!(percent_decode(b"/a%zz"), None);
        assert_eq!(percent_decode(b"/a%41").as_deref(), Some(&b"/aA"[..]));
        assert_eq!(safe_redirect_path("/100%"), Some("/100%"));
    }
}

#[cfg(test)]
mod properties {
    //! Property tests of the redirect validator: it never panics, and whatever it
    //! accepts passes the fuzz harness's oracle: exactly one leading `/`, no
    //! backslash, no control character, no `.` or `..` segment, as given and after up
    //! to four rounds of percent-decoding, and a browser resolving any of those forms
    //! against a frontend page stays on the frontend's origin.

    use proptest::prelude::*;

    use crate::__fuzz::check_redirect;

    /// 256 cases (proptest's default; `PROPTEST_CASES=N` for a deeper run by hand),
    /// and no regression files written into the source tree.
    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Values built of the characters that decide where a browser goes, their
    /// percent-encodings, and now and then any character at all.
    fn adversarial() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            8 => prop::sample::select(vec![
                "/", "\\", ".", "%", "2", "5", "e", "E", "f", "F", "c", "C", ":", "@", "?", "#",
                "a", "0", "9", "//", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%25", "%0a",
                "%09", "%00", "%c2%85", "\t", "\n", "\r", " ", "\u{85}", "\u{2028}", "\u{ff0f}",
                "\u{ff0e}", "http:", "https://", "javascript:",
            ])
            .prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_strings_get_a_sound_answer(path in any::<String>()) {
            check_redirect(&path);
        }

        #[test]
        fn adversarial_values_get_a_sound_answer(path in adversarial()) {
            check_redirect(&path);
        }

        #[test]
        fn adversarial_values_after_a_slash_get_a_sound_answer(rest in adversarial()) {
            check_redirect(&format!("/{rest}"));
        }

        /// Not vacuous: ordinary local paths are accepted.
        #[test]
        fn ordinary_local_paths_are_accepted(
            segments in prop::collection::vec("[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,8}", 0..5),
            query in prop::option::of("[a-z0-9=&/.]{0,12}"),
            fragment in prop::option::of("[a-z0-9/.-]{0,8}"),
        ) {
            let mut path = format!("/{}", segments.join("/"));
            if let Some(query) = query {
                path = format!("{path}?{query}");
            }
            if let Some(fragment) = fragment {
                path = format!("{path}#{fragment}");
            }
            prop_assert_eq!(check_redirect(&path), Some(path.as_str()));
        }
    }
}
