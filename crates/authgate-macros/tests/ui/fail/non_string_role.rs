use authgate_extract::require_role;

#[require_role(admin)]
async fn handler() {}

#[require_role(Role::Admin)]
async fn other() {}

fn main() {}
