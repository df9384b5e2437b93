use authgate_extract::require_role;

struct Api;

impl Api {
    #[require_role("admin")]
    async fn handler(&self) {}
}

fn main() {
    let _ = Api;
}
