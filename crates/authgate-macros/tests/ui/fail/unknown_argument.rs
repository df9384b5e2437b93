use authgate_extract::require_role;

#[require_role(role = "admin")]
async fn handler() {}

fn main() {}
