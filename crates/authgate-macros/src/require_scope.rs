//! `#[require_scope("goauthentik.io/api")]`.

use proc_macro2::TokenStream;

use crate::guard::{Arity, Macro};

const MACRO: Macro = Macro {
    name: "require_scope",
    what: "scope",
    example: r#"#[require_scope("goauthentik.io/api")]"#,
    arity: Arity::Many,
    variant: "Scopes",
};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    MACRO.expand(attr, item)
}
