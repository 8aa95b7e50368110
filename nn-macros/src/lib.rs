//! The `network!` proc-macro of constnet. Use it through the `constnet` crate, which documents it.
//!
//! Parse (`ast`) → validate (`valid`) → lower (`lower`: layer types and shapes) → expand
//! (`expand`; `twin`: the int8 twin type), each in its own file.

mod ast;
mod expand;
mod lower;
mod twin;
mod valid;

use proc_macro::TokenStream;
use syn::parse_macro_input;

/// Declares one or more networks; see the `constnet` crate for the syntax and what it generates.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as ast::Input);
    expand::expand(&input).into()
}
