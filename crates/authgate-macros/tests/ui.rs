//! Compile-time behaviour of the attribute guards: what compiles, and the errors that
//! say what to write instead.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
