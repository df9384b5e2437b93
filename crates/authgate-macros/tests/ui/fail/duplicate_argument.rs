use authgate_extract::require_role;

#[require_role("admin", framework = "axum", framework = "actix")]
async fn handler() {}

fn main() {}
