//! `#[require_any_role("admin", "support")]`.

use proc_macro2::TokenStream;

use crate::guard::{Arity, Macro};

const MACRO: Macro = Macro {
    name: "require_any_role",
    what: "role",
    example: r#"#[require_any_role("admin", "support")]"#,
    arity: Arity::Many,
    variant: "AnyRole",
};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    MACRO.expand(attr, item)
}
