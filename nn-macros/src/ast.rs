//! The typed model of a `network!` invocation. Parsing checks syntax only; meaning is `valid.rs`'s.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    braced, AngleBracketedGenericArguments, Attribute, Error, Expr, ExprLit, GenericArgument,
    Generics, Ident, Lit, LitInt, Path, PathArguments, Result, Token, Type, Visibility,
};

/// Everything inside `network! { ... }`: one or more structs.
pub struct Input {
    pub nets: Vec<Net>,
}

/// `#[input(..)] #[attrs] vis struct Name { layers }`.
pub struct Net {
    /// Attributes that pass through to the struct (`#[input]` taken out).
    pub attrs: Vec<Attribute>,
    /// `#[input(C, H, W)]`, `#[input(C, L)]` or `#[input(N)]`, if given.
    pub input: Option<InputShape>,
    pub vis: Visibility,
    pub ident: Ident,
    /// Generic parameters, which a network cannot have (`valid.rs` says so).
    pub generics: Generics,
    /// Span of the `{ ... }`, for errors about the layer list as a whole.
    pub brace_span: Span,
    pub layers: Vec<Layer>,
}

/// The dimensions of `#[input(...)]`.
pub struct InputShape {
    pub span: Span,
    pub dims: Vec<Arg>,
}

/// `[#[doc]] [name:] Kind<args>`.
pub struct Layer {
    pub index: usize,
    /// Attributes on the layer (doc comments pass through to the field).
    pub attrs: Vec<Attribute>,
    /// The name the user gave, if any.
    pub given_name: Option<Ident>,
    /// Field name: the given name, or `l{index}`.
    pub name: Ident,
    pub kind: Ident,
    /// The `<...>`, for errors about the argument list as a whole.
    pub args_span: Span,
    /// Positional generic arguments.
    pub args: Vec<Arg>,
    /// `name = value` arguments (`stride = 2`, `padding = Same`).
    pub options: Vec<(Ident, Arg)>,
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
        let mut attrs = input.call(Attribute::parse_outer)?;
        let mut shape = None;
        let mut kept = Vec::with_capacity(attrs.len());
        for attr in attrs.drain(..) {
            if attr.path().is_ident("input") {
                let list = attr.meta.require_list()?;
                let dims = list
                    .parse_args_with(Punctuated::<GenericArgument, Token![,]>::parse_terminated)?;
                shape = Some(InputShape {
                    span: attr.span(),
                    dims: args_of(&dims)?.0,
                });
            } else {
                kept.push(attr);
            }
        }
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident = input.parse()?;
        let generics: Generics = input.parse()?;
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
            attrs: kept,
            input: shape,
            vis,
            ident,
            generics,
            brace_span: brace.span.join(),
            layers,
        })
    }
}

impl Layer {
    fn parse(input: ParseStream, index: usize) -> Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
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
        let (args_span, (args, options)) = match &last.arguments {
            PathArguments::AngleBracketed(AngleBracketedGenericArguments { args, .. }) => {
                (last.arguments.span(), args_of(args)?)
            }
            _ => (kind.span(), (Vec::new(), Vec::new())),
        };
        let name = given_name
            .clone()
            .unwrap_or_else(|| Ident::new(&format!("l{index}"), kind.span()));
        Ok(Layer {
            index,
            attrs,
            given_name,
            name,
            kind,
            args_span,
            args,
            options,
        })
    }

    /// `layer 1 (`out`)`, for messages.
    pub fn describe(&self) -> String {
        format!("layer {} (`{}`)", self.index, self.name)
    }

    /// The `name = value` option called `name`, if given.
    pub fn option(&self, name: &str) -> Option<&Arg> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, arg)| arg)
    }
}

type Args = (Vec<Arg>, Vec<(Ident, Arg)>);

fn args_of(args: &Punctuated<GenericArgument, Token![,]>) -> Result<Args> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    for arg in args {
        match arg {
            GenericArgument::AssocConst(c) => options.push((c.ident.clone(), expr_arg(&c.value))),
            GenericArgument::AssocType(t) => options.push((t.ident.clone(), type_arg(&t.ty))),
            GenericArgument::Const(expr) => positional.push(expr_arg(expr)),
            GenericArgument::Type(ty) => positional.push(type_arg(ty)),
            other => {
                return Err(Error::new_spanned(
                    other,
                    "expected a width (an integer or a named const) or an activation",
                ))
            }
        }
    }
    Ok((positional, options))
}

fn expr_arg(expr: &Expr) -> Arg {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Arg::Int(lit.clone()),
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Arg::Path(p.path.clone()),
        other => Arg::Expr(other.clone()),
    }
}

fn type_arg(ty: &Type) -> Arg {
    match ty {
        Type::Path(p) if p.qself.is_none() => Arg::Path(p.path.clone()),
        other => Arg::Type(other.clone()),
    }
}
