use authgate_extract::require_role;

#[require_role("admin")]
fn handler() -> &'static str {
    "not async"
}

fn main() {}
