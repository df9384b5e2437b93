//! `#[require_role("admin")]`.

use proc_macro2::TokenStream;

use crate::guard::{Arity, Macro};

const MACRO: Macro = Macro {
    name: "require_role",
    what: "role",
    example: r#"#[require_role("admin")]"#,
    arity: Arity::One,
    variant: "AnyRole",
};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    MACRO.expand(attr, item)
}
