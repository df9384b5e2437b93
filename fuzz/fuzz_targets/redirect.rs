//! The post-login redirect validator: see `authgate_flow::__fuzz::redirect` for what
//! is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    authgate_flow::__fuzz::redirect(data);
});
