//! What the three attribute macros share: parsing their arguments and rewriting the
//! handler.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Ident, ItemFn, LitStr, Token, Type, parse_quote};

/// One attribute macro: its name and what its arguments mean.
pub(crate) struct Macro {
    /// `require_role`, …
    pub(crate) name: &'static str,
    /// What one string argument is: `role` or `scope`.
    pub(crate) what: &'static str,
    /// A correct use, shown in error messages.
    pub(crate) example: &'static str,
    /// How many strings it takes.
    pub(crate) arity: Arity,
    /// The `Requirement` variant the strings go into.
    pub(crate) variant: &'static str,
}

/// How many strings a macro takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    /// Exactly one.
    One,
    /// One or more.
    Many,
}

/// The framework named by `framework = "..."`.
#[derive(Clone, Copy)]
enum Framework {
    Axum,
    Actix,
}

const FRAMEWORKS: &str = r#"framework = "axum" or framework = "actix""#;

/// The parsed arguments.
struct Args {
    values: Vec<LitStr>,
    user: Option<Type>,
    framework: Option<Framework>,
}

impl Macro {
    /// The whole macro: the rewritten handler, or compile errors saying what to write.
    pub(crate) fn expand(&self, attr: TokenStream, item: TokenStream) -> TokenStream {
        let args = self.parse_args(attr);
        let handler = self.parse_handler(&item);
        match (args, handler) {
            (Ok(args), Ok(handler)) => self.rewrite(args, handler),
            (Err(mut err), Err(more)) => {
                err.combine(more);
                with_item(err, item)
            }
            (Err(err), Ok(_)) | (Ok(_), Err(err)) => with_item(err, item),
        }
    }

    fn parse_args(&self, attr: TokenStream) -> syn::Result<Args> {
        let parser = |input: ParseStream<'_>| {
            let mut args = Args {
                values: Vec::new(),
                user: None,
                framework: None,
            };
            while !input.is_empty() {
                if input.peek(LitStr) {
                    args.values.push(input.parse()?);
                } else if input.peek(Ident) && input.peek2(Token![=]) {
                    self.parse_named(input, &mut args)?;
                } else {
                    let found: Expr = input.parse()?;
                    return Err(syn::Error::new_spanned(
                        found,
                        format!(
                            "expected a {} as a string literal: {}",
                            self.what, self.example
                        ),
                    ));
                }
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(args)
        };
        let args = parser.parse2(attr)?;
        self.check_values(&args.values)?;
        Ok(args)
    }

    /// `user = Type` or `framework = "..."`.
    fn parse_named(&self, input: ParseStream<'_>, args: &mut Args) -> syn::Result<()> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let duplicate = || syn::Error::new_spanned(&key, format!("`{key}` is given twice"));
        match key.to_string().as_str() {
            "user" => {
                let user: Type = input.parse().map_err(|err| {
                    syn::Error::new(
                        err.span(),
                        "expected the user type: user = my_crate::MyUser",
                    )
                })?;
                if args.user.replace(user).is_some() {
                    return Err(duplicate());
                }
            }
            "framework" => {
                let name: LitStr = input
                    .parse()
                    .map_err(|err| syn::Error::new(err.span(), format!("expected {FRAMEWORKS}")))?;
                let framework = match name.value().as_str() {
                    "axum" => Framework::Axum,
                    "actix" | "actix-web" => Framework::Actix,
                    other => {
                        return Err(syn::Error::new_spanned(
                            &name,
                            format!("unknown framework \"{other}\": expected {FRAMEWORKS}"),
                        ));
                    }
                };
                if args.framework.replace(framework).is_some() {
                    return Err(duplicate());
                }
            }
            other => {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown argument `{other}`: write the {what} first, as a string ({example}), then optionally `user = my_crate::MyUser` and {FRAMEWORKS}",
                        what = self.what,
                        example = self.example,
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_values(&self, values: &[LitStr]) -> syn::Result<()> {
        if values.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("expected a {}: {}", self.what, self.example),
            ));
        }
        if self.arity == Arity::One && values.len() > 1 {
            return Err(syn::Error::new_spanned(
                &values[1],
                format!(
                    "#[{}] takes one {}; for any of several write #[require_any_role(\"admin\", \"support\")]",
                    self.name, self.what
                ),
            ));
        }
        for value in values {
            let text = value.value();
            if text.is_empty() {
                return Err(syn::Error::new_spanned(
                    value,
                    format!("the {} cannot be empty: {}", self.what, self.example),
                ));
            }
            if text.chars().any(char::is_whitespace) {
                return Err(syn::Error::new_spanned(
                    value,
                    format!(
                        "one {} per string, without spaces: #[{}(\"{}\", ...)]",
                        self.what,
                        self.name,
                        text.split_whitespace().next().unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn parse_handler(&self, item: &TokenStream) -> syn::Result<ItemFn> {
        let handler: ItemFn = syn::parse2(item.clone()).map_err(|_| {
            syn::Error::new_spanned(
                item,
                format!(
                    "#[{}] goes on an async handler function: {} async fn handler(..) {{ .. }}",
                    self.name, self.example
                ),
            )
        })?;
        if handler.sig.asyncness.is_none() {
            return Err(syn::Error::new_spanned(
                handler.sig.fn_token,
                format!(
                    "#[{}] needs an async handler: write `async fn {}(..)`",
                    self.name, handler.sig.ident
                ),
            ));
        }
        if let Some(receiver) = handler.sig.receiver() {
            return Err(syn::Error::new_spanned(
                receiver,
                format!(
                    "#[{}] goes on a free async function, not a method: move the handler out of the `impl` block",
                    self.name
                ),
            ));
        }
        Ok(handler)
    }

    /// The marker type with the requirement, and the handler with the guard as its
    /// first extractor.
    fn rewrite(&self, args: Args, mut handler: ItemFn) -> TokenStream {
        let marker = format_ident!("__authgate_{}_{}", self.name, handler.sig.ident);
        let vis = &handler.vis;
        let variant = Ident::new(self.variant, Span::call_site());
        let values = &args.values;
        // A user type given by name must be one a guard can check: say so at the type.
        let user_check = args.user.as_ref().map(|user| {
            quote_spanned! {user.span()=>
                const _: fn() = ::authgate_extract::__private::assert_guard_user::<#user>;
            }
        });
        let user = args
            .user
            .unwrap_or_else(|| parse_quote!(::authgate_extract::User));
        let framework = args.framework.map(|framework| match framework {
            Framework::Axum => quote!(::authgate_extract::__authgate_framework_axum! {}),
            Framework::Actix => quote!(::authgate_extract::__authgate_framework_actix! {}),
        });
        let guard: FnArg = parse_quote!(_: ::authgate_extract::Guard<#marker, #user>);
        handler.sig.inputs.insert(0, guard);
        quote! {
            #framework
            #user_check

            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #[derive(::core::fmt::Debug)]
            #vis struct #marker;

            impl ::authgate_extract::GuardSpec for #marker {
                const REQUIREMENT: ::authgate_extract::Requirement =
                    ::authgate_extract::Requirement::#variant(
                        ::authgate_extract::Names::from_static(&[#(#values),*]),
                    );
            }

            #handler
        }
    }
}

/// The errors, followed by the item unchanged (so that one mistake does not also make
/// every use of the handler an error).
fn with_item(err: syn::Error, item: TokenStream) -> TokenStream {
    let err = err.into_compile_error();
    quote!(#err #item)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: Macro = Macro {
        name: "require_role",
        what: "role",
        example: r#"#[require_role("admin")]"#,
        arity: Arity::One,
        variant: "AnyRole",
    };

    fn expand(attr: TokenStream, item: TokenStream) -> syn::File {
        syn::parse2(ROLE.expand(attr, item)).expect("the expansion parses as items")
    }

    #[test]
    fn the_marker_takes_the_handler_visibility_and_the_guard_comes_first() {
        let file = expand(
            quote!("admin"),
            quote! {
                /// Docs stay.
                #[allow(unused)]
                pub(crate) async fn create(body: String) -> String { body }
            },
        );
        let marker = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Struct(s) => Some(s),
                _ => None,
            })
            .expect("a marker struct");
        assert_eq!(marker.ident, "__authgate_require_role_create");
        assert!(quote!(#marker).to_string().contains("pub (crate) struct"));
        let handler = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Fn(f) => Some(f),
                _ => None,
            })
            .expect("the handler");
        assert_eq!(handler.sig.ident, "create");
        assert_eq!(handler.attrs.len(), 2);
        assert_eq!(handler.sig.inputs.len(), 2);
        let first = &handler.sig.inputs[0];
        assert_eq!(
            quote!(#first).to_string(),
            quote!(_: ::authgate_extract::Guard<__authgate_require_role_create, ::authgate_extract::User>)
                .to_string()
        );
    }

    #[test]
    fn the_requirement_lists_the_strings() {
        let file = expand(
            quote!("admin"),
            quote!(
                async fn h() {}
            ),
        );
        let spec = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Impl(i) => Some(i),
                _ => None,
            })
            .expect("the GuardSpec impl");
        let text = quote!(#spec).to_string();
        assert!(
            text.contains(r#"Requirement :: AnyRole (:: authgate_extract :: Names :: from_static (& ["admin"]) ,)"#),
            "{text}"
        );
    }

    #[test]
    fn errors_keep_the_item() {
        let out = ROLE
            .expand(
                quote!(),
                quote!(
                    async fn h() {}
                ),
            )
            .to_string();
        assert!(out.contains("compile_error"));
        assert!(out.contains("expected a role"));
        assert!(out.contains("async fn h"));
    }
}
