//! Token splitting, base64url and the header and claim checks of the core verifier:
//! see `authgate::__fuzz::verify` for how the bytes become a token and what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    authgate::__fuzz::verify(data);
});
