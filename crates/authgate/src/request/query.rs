//! The token query parameter: finding it in a query string and percent-decoding it.
//!
//! Pairs are separated by `&`; a pair's name is compared as written (not decoded) and
//! case-sensitively with the configured name, which the configuration limits to
//! characters that are never percent-encoded. The value is decoded as
//! `application/x-www-form-urlencoded` is (`%XX` is a byte, `+` a space), so a token
//! that a client encoded with `encodeURIComponent` or `URLSearchParams` comes out as
//! it went in. A JWT is made of characters that need no encoding, so the common case
//! borrows the value from the request and allocates nothing.

use std::borrow::Cow;

use super::{TokenSource, checked};
use crate::error::AuthError;

/// The decoded value of the parameter `name` in `query`, if it is there.
///
/// # Errors
///
/// [`AuthError::DuplicateToken`] when the parameter is given more than once,
/// [`AuthError::TokenTooLarge`] when the decoded value would be longer than
/// `max_bytes` (decoding stops there), and [`AuthError::Malformed`] for an empty
/// value, a `%` not followed by two hexadecimal digits, or a value that does not
/// decode to visible ASCII.
pub(super) fn token<'a>(
    query: &'a str,
    name: &str,
    max_bytes: usize,
) -> Result<Option<Cow<'a, str>>, AuthError> {
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = match memchr::memchr(b'=', pair.as_bytes()) {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, ""),
        };
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err(AuthError::DuplicateToken {
                place: TokenSource::Query,
            });
        }
        found = Some(value);
    }
    let Some(value) = found else {
        return Ok(None);
    };
    if value.is_empty() {
        return Err(AuthError::Malformed {
            reason: "the token parameter is empty",
        });
    }
    decode(value, max_bytes).map(Some)
}

/// Percent-decodes `value` (`+` is a space), refusing it as soon as the result would
/// pass `max_bytes`, then checks it as every token is checked.
fn decode(value: &str, max_bytes: usize) -> Result<Cow<'_, str>, AuthError> {
    let bytes = value.as_bytes();
    if memchr::memchr2(b'%', b'+', bytes).is_none() {
        return checked(bytes, max_bytes).map(Cow::Borrowed);
    }
    let too_large = AuthError::TokenTooLarge { limit: max_bytes };
    // An escape is three bytes for one: a value over three times the cap cannot
    // decode to within it.
    if bytes.len() / 3 > max_bytes {
        return Err(too_large);
    }
    let mut decoded = Vec::with_capacity(bytes.len().min(max_bytes));
    let mut rest = bytes;
    while let [first, tail @ ..] = rest {
        let (byte, next) = match (*first, tail) {
            (b'%', [high, low, next @ ..]) => match (hex(*high), hex(*low)) {
                (Some(high), Some(low)) => ((high << 4) | low, next),
                _ => return Err(bad_escape()),
            },
            (b'%', _) => return Err(bad_escape()),
            (b'+', _) => (b' ', tail),
            (byte, _) => (byte, tail),
        };
        if decoded.len() == max_bytes {
            return Err(too_large);
        }
        decoded.push(byte);
        rest = next;
    }
    checked(&decoded, max_bytes)?;
    // `checked` let only visible ASCII through, which is UTF-8.
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|_| AuthError::Malformed {
            reason: "the token is not UTF-8",
        })
}

fn bad_escape() -> AuthError {
    AuthError::Malformed {
        reason: "the token parameter has a `%` that is not followed by two hex digits",
    }
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(query: &str, max: usize) -> Result<Option<String>, AuthError> {
        token(query, "access_token", max).map(|t| t.map(Cow::into_owned))
    }

    #[test]
    fn the_named_parameter_is_found_among_others_and_borrowed_when_plain() {
        assert_eq!(
            find("a=1&access_token=x.y.z&b=2", 64).unwrap().as_deref(),
            Some("x.y.z")
        );
        assert!(matches!(
            token("access_token=x.y.z", "access_token", 64),
            Ok(Some(Cow::Borrowed("x.y.z")))
        ));
        // Names are compared as written and case-sensitively.
        assert_eq!(
            find("ACCESS_TOKEN=x.y.z&access_tokenx=1&xaccess_token=2", 64).unwrap(),
            None
        );
        assert_eq!(find("", 64).unwrap(), None);
        assert_eq!(find("access_token%3D=x", 64).unwrap(), None);
    }

    #[test]
    fn the_value_is_percent_decoded() {
        assert_eq!(
            find("access_token=x%2Ey%2ez", 64).unwrap().as_deref(),
            Some("x.y.z")
        );
        assert_eq!(
            find("access_token=%41%62c", 64).unwrap().as_deref(),
            Some("Abc")
        );
        // `+` is a space, which no token may hold.
        assert!(matches!(
            find("access_token=a+b", 64),
            Err(AuthError::Malformed { .. })
        ));
        // `%20` too.
        assert!(matches!(
            find("access_token=a%20b", 64),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            find("access_token=%00", 64),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn bad_escapes_are_malformed() {
        for query in [
            "access_token=a%",
            "access_token=a%4",
            "access_token=a%zz",
            "access_token=%G1",
        ] {
            assert!(
                matches!(find(query, 64), Err(AuthError::Malformed { .. })),
                "{query}"
            );
        }
    }

    #[test]
    fn empty_or_repeated_parameters_are_refused() {
        assert!(matches!(
            find("access_token=", 64),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            find("access_token", 64),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            find("access_token=a&access_token=a", 64),
            Err(AuthError::DuplicateToken {
                place: TokenSource::Query
            })
        ));
    }

    #[test]
    fn the_cap_applies_to_the_decoded_value() {
        // Nine encoded bytes decode to three: within a cap of three.
        assert_eq!(
            find("access_token=%61%62%63", 3).unwrap().as_deref(),
            Some("abc")
        );
        assert!(matches!(
            find("access_token=%61%62%63%64", 3),
            Err(AuthError::TokenTooLarge { limit: 3 })
        ));
        assert!(matches!(
            find("access_token=abcd", 3),
            Err(AuthError::TokenTooLarge { limit: 3 })
        ));
        // Far over three times the cap: refused before decoding.
        let long = format!("access_token={}", "%61".repeat(100));
        assert!(matches!(
            find(&long, 3),
            Err(AuthError::TokenTooLarge { limit: 3 })
        ));
    }
}
