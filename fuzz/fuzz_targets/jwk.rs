//! JWK and JWK set parsing: see `authgate::__fuzz::jwk` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    authgate::__fuzz::jwk(data);
});
