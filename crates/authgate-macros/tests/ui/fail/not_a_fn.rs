use authgate_extract::require_role;

#[require_role("admin")]
struct Handler;

fn main() {}
