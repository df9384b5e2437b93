use authgate_extract::require_role;

#[require_role("admin", "support")]
async fn handler() {}

fn main() {}
