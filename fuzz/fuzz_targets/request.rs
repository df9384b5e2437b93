//! The `Authorization` header and the cookie parser: see `authgate::__fuzz::request`
//! for how the bytes become headers and what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    authgate::__fuzz::request(data);
});
