use authgate_extract::require_scope;

#[require_scope("openid goauthentik.io/api")]
async fn handler() {}

fn main() {}
