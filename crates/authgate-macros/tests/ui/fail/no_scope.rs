use authgate_extract::require_scope;

#[require_scope(user = authgate_extract::User)]
async fn handler() {}

fn main() {}
