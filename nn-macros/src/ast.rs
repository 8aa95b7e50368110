//! The typed model of a `network!` invocation. Parsing checks syntax only; meaning is `valid.rs`'s.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    braced, AngleBracketedGenericArguments, Attribute, Error, Expr, ExprLit, GenericArgument,
    Ident, Lit, LitInt, Path, PathArguments, Result, Token, Type, Visibility,
};

/// Everything inside `network! { ... }`: one or more structs.
pub struct Input {
    pub nets: Vec<Net>,
}

/// `#[attrs] vis struct Name { layers }`.
pub struct Net {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// Span of the `{ ... }`, for errors about the layer list as a whole.
    pub brace_span: Span,
    pub layers: Vec<Layer>,
}

/// `[name:] Kind<args>`.
pub struct Layer {
    pub index: usize,
    /// The name the user gave, if any.
    pub given_name: Option<Ident>,
    /// Field name: the given name, or `l{index}`.
    pub name: Ident,
    pub kind: Ident,
    /// The `<...>`, for errors about the argument list as a whole.
    pub args_span: Span,
    pub args: Vec<Arg>,
}

/// One generic argument of a layer, classified only by its syntax.
pub enum Arg {
    /// `784`
    Int(LitInt),
    /// `HIDDEN`, `config::HIDDEN` or `Relu`: a const or a type, by position.
    Path(Path),
    /// Any other const expression (`{ 2 * H }`, `2.5`, `-1`).
    Expr(Expr),
    /// Any other type.
    Type(Type),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Int(lit) => lit.span(),
            Arg::Path(path) => path.span(),
            Arg::Expr(expr) => expr.span(),
            Arg::Type(ty) => ty.span(),
        }
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut nets = Vec::new();
        while !input.is_empty() {
            nets.push(input.parse()?);
        }
        if nets.is_empty() {
            return Err(input.error(
                "expected a network: `pub struct Name { Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid> }`",
            ));
        }
        Ok(Input { nets })
    }
}

impl Parse for Net {
    fn parse(input: ParseStream) -> Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let mut layers = Vec::new();
        while !content.is_empty() {
            layers.push(Layer::parse(&content, layers.len())?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(Net {
            attrs,
            vis,
            ident,
            brace_span: brace.span.join(),
            layers,
        })
    }
}

impl Layer {
    fn parse(input: ParseStream, index: usize) -> Result<Self> {
        let given_name: Option<Ident> =
            if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
                let name = input.parse()?;
                input.parse::<Token![:]>()?;
                Some(name)
            } else {
                None
            };
        let ty: Type = input.parse()?;
        let Type::Path(path) = &ty else {
            return Err(Error::new_spanned(
                &ty,
                "expected a layer, such as `Dense<784, 64, Relu>`",
            ));
        };
        let last = path
            .path
            .segments
            .last()
            .expect("a parsed path has a segment");
        let kind = last.ident.clone();
        let (args_span, args) = match &last.arguments {
            PathArguments::AngleBracketed(AngleBracketedGenericArguments { args, .. }) => {
                (last.arguments.span(), args_of(args)?)
            }
            _ => (kind.span(), Vec::new()),
        };
        let name = given_name
            .clone()
            .unwrap_or_else(|| Ident::new(&format!("l{index}"), kind.span()));
        Ok(Layer {
            index,
            given_name,
            name,
            kind,
            args_span,
            args,
        })
    }

    /// `layer 1 (`out`)`, for messages.
    pub fn describe(&self) -> String {
        format!("layer {} (`{}`)", self.index, self.name)
    }
}

fn args_of(args: &Punctuated<GenericArgument, Token![,]>) -> Result<Vec<Arg>> {
    args.iter()
        .map(|arg| match arg {
            GenericArgument::Const(Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            })) => Ok(Arg::Int(lit.clone())),
            GenericArgument::Const(expr) => Ok(Arg::Expr(expr.clone())),
            GenericArgument::Type(Type::Path(p)) if p.qself.is_none() => {
                Ok(Arg::Path(p.path.clone()))
            }
            GenericArgument::Type(ty) => Ok(Arg::Type(ty.clone())),
            other => Err(Error::new_spanned(
                other,
                "expected a width (an integer or a named const) or an activation",
            )),
        })
        .collect()
}
