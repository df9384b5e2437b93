use authgate_extract::require_any_role;

#[require_any_role()]
async fn handler() {}

fn main() {}
