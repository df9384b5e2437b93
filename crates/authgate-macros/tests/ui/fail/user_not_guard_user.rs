use authgate_extract::require_role;

#[require_role("admin", user = String)]
async fn handler() {}

fn main() {}
