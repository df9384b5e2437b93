use authgate_extract::require_role;

#[require_role]
async fn handler() {}

fn main() {}
