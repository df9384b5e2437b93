use authgate_extract::require_role;

#[require_role("admin", framework = "rocket")]
async fn handler() {}

fn main() {}
