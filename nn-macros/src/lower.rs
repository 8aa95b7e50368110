//! Lowering: from the validated syntax to a plan of layers with their resolved `nn-core` types and
//! the shape of every activation, so that `expand.rs` only emits. Shapes are computed here, so the
//! checks that need them (a `Dense` whose width does not fit, a kernel larger than its input, a
//! pool that does not divide) are made here too, each spanned on the offending layer.
//!
//! Sizes given as integer literals are computed to literals; sizes that involve a named const are
//! passed on as const expressions, which the layers re-check in const evaluation.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Error, Result};

use crate::ast::{Arg, Layer, Net};

/// One size: a number the macro knows, or a const expression it passes on.
///
/// An expression is rendered three ways, because rustc's `unused_braces` / `unused_parens` lints
/// (and `cargo fix` after them) would otherwise rewrite what the user wrote: at the top of an
/// array length or const value without parentheses or braces, as an operand in parentheses, and as
/// a generic argument braced only where Rust needs it.
#[derive(Clone)]
pub enum Dim {
    Lit(usize),
    Expr {
        /// The expression alone (`2 * H`, `cfg::H`).
        top: TokenStream,
        /// A path or literal: no parentheses needed as an operand.
        atomic: bool,
        /// As a const generic argument (`H`, `{ 2 * H }`, `{ cfg::H }`).
        arg: TokenStream,
        /// Source text, for messages.
        text: String,
    },
}

impl Dim {
    /// From a width argument that `valid.rs` accepted.
    pub fn of(arg: &Arg) -> Dim {
        match arg {
            Arg::Int(lit) => Dim::Lit(lit.base10_parse().expect("validated width")),
            Arg::Path(path) => {
                let top = path.to_token_stream();
                Dim::Expr {
                    arg: if path.get_ident().is_some() {
                        top.clone()
                    } else {
                        quote!({ #top })
                    },
                    top,
                    atomic: true,
                    text: path.to_token_stream().to_string().replace(' ', ""),
                }
            }
            Arg::Expr(expr) => {
                // `{ 2 * H }`: the user's braces stay in generic arguments, where they are needed.
                let inner = match expr {
                    syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                        syn::Stmt::Expr(e, None) => Some(e),
                        _ => None,
                    },
                    _ => None,
                };
                let top = inner.map_or_else(|| expr.to_token_stream(), |e| e.to_token_stream());
                let arg = match expr {
                    syn::Expr::Block(_) => expr.to_token_stream(),
                    _ => quote!({ #top }),
                };
                Dim::Expr {
                    top,
                    atomic: matches!(expr, syn::Expr::Block(_)) && inner.is_none(),
                    arg,
                    text: expr.to_token_stream().to_string(),
                }
            }
            Arg::Type(ty) => {
                let top = ty.to_token_stream();
                Dim::Expr {
                    arg: top.clone(),
                    top,
                    atomic: true,
                    text: ty.to_token_stream().to_string(),
                }
            }
        }
    }

    pub fn lit(&self) -> Option<usize> {
        match self {
            Dim::Lit(n) => Some(*n),
            Dim::Expr { .. } => None,
        }
    }

    /// At the top of an array length or a const value.
    pub fn expr(&self) -> TokenStream {
        match self {
            Dim::Lit(n) => unsuffixed(*n),
            Dim::Expr { top, .. } => top.clone(),
        }
    }

    /// As an operand of an arithmetic or comparison operator.
    pub fn operand(&self) -> TokenStream {
        match self {
            Dim::Lit(n) => unsuffixed(*n),
            Dim::Expr {
                top, atomic: true, ..
            } => top.clone(),
            Dim::Expr { top, .. } => quote!((#top)),
        }
    }

    /// As a const generic argument.
    pub fn arg(&self) -> TokenStream {
        match self {
            Dim::Lit(n) => unsuffixed(*n),
            Dim::Expr { arg, .. } => arg.clone(),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Dim::Lit(n) => n.to_string(),
            Dim::Expr { text, .. } => text.clone(),
        }
    }

    /// `f(a, b)` if both are known, else the expression `op` applied to both operands.
    fn combine(
        &self,
        other: &Dim,
        f: impl Fn(usize, usize) -> usize,
        op: impl Fn(TokenStream, TokenStream) -> TokenStream,
        text: impl Fn(&str, &str) -> String,
    ) -> Dim {
        match (self.lit(), other.lit()) {
            (Some(a), Some(b)) => Dim::Lit(f(a, b)),
            _ => {
                let top = op(self.operand(), other.operand());
                Dim::Expr {
                    arg: quote!({ #top }),
                    top,
                    atomic: false,
                    text: text(&self.text(), &other.text()),
                }
            }
        }
    }

    pub fn mul(&self, other: &Dim) -> Dim {
        self.combine(
            other,
            |a, b| a * b,
            |a, b| quote!(#a * #b),
            |a, b| format!("{a}*{b}"),
        )
    }

    /// A convolution's output size (`conv_out` in nn-core: 'valid' `(n − k) / s + 1`, 'same'
    /// `⌈n / s⌉`); the caller has checked `k ≤ n` where it can. With a named size it is a call,
    /// so no arithmetic that a lint could question lands in the user's crate.
    fn conv_out(&self, k: &Dim, s: &Dim, same: bool) -> Dim {
        match (self.lit(), k.lit(), s.lit()) {
            (Some(n), _, Some(s)) if same => Dim::Lit(n.div_ceil(s)),
            (Some(n), Some(k), Some(s)) => Dim::Lit((n - k) / s + 1),
            _ => {
                let (n, kk, ss) = (self.expr(), k.expr(), s.expr());
                let top = quote!(::constnet::layer::conv_out(#n, #kk, #ss, #same));
                Dim::Expr {
                    arg: quote!({ #top }),
                    top,
                    atomic: true,
                    text: if same {
                        format!("ceil({}/{})", self.text(), s.text())
                    } else {
                        format!("({}-{})/{}+1", self.text(), k.text(), s.text())
                    },
                }
            }
        }
    }

    fn div(&self, p: &Dim) -> Dim {
        self.combine(
            p,
            |n, p| n / p,
            |n, p| quote!(#n / #p),
            |n, p| format!("{n}/{p}"),
        )
    }
}

fn unsuffixed(n: usize) -> TokenStream {
    proc_macro2::Literal::usize_unsuffixed(n).into_token_stream()
}

/// The shape of one sample's activations.
#[derive(Clone)]
pub enum Shape {
    Flat(Dim),
    /// Channels × length.
    D1(Dim, Dim),
    /// Channels × height × width.
    D2(Dim, Dim, Dim),
}

impl Shape {
    /// The `nn-core` tensor type.
    pub fn tensor(&self) -> TokenStream {
        match self {
            Shape::Flat(n) => {
                let n = n.expr();
                quote!([f32; #n])
            }
            Shape::D1(c, l) => {
                let (c, l) = (c.expr(), l.expr());
                quote!([[f32; #l]; #c])
            }
            Shape::D2(c, h, w) => {
                let (c, h, w) = (c.expr(), h.expr(), w.expr());
                quote!([[[f32; #w]; #h]; #c])
            }
        }
    }

    /// Values per sample.
    pub fn len(&self) -> Dim {
        match self {
            Shape::Flat(n) => n.clone(),
            Shape::D1(c, l) => c.mul(l),
            Shape::D2(c, h, w) => c.mul(h).mul(w),
        }
    }

    /// `256`, `6x24x24`.
    pub fn describe(&self) -> String {
        match self {
            Shape::Flat(n) => n.text(),
            Shape::D1(c, l) => format!("{}x{}", c.text(), l.text()),
            Shape::D2(c, h, w) => format!("{}x{}x{}", c.text(), h.text(), w.text()),
        }
    }
}

/// A width the macro could not compare (a named const on either side): `expand.rs` emits a const
/// assertion for it.
pub struct Check {
    /// What the layer declares.
    pub declared: Dim,
    /// What arrives.
    pub arriving: Dim,
    pub span: Span,
    pub message: String,
}

/// A layer with its `nn-core` type and shapes.
pub struct Planned<'a> {
    pub layer: &'a Layer,
    pub ty: TokenStream,
    pub output: Shape,
    pub check: Option<Check>,
    /// A layer with weights per output channel and no activation: a batch norm after it can be
    /// folded into it.
    pub linear: bool,
}

/// A network ready to emit.
pub struct Plan<'a> {
    pub net: &'a Net,
    pub input: Shape,
    pub layers: Vec<Planned<'a>>,
    /// Flat input and output widths (`Network<IN, OUT>`).
    pub inputs: Dim,
    pub outputs: Dim,
}

impl Net {
    /// Computes every shape; the first layer that does not fit stops lowering with its error.
    pub fn lower(&self) -> Result<Plan<'_>> {
        let mut shape = match &self.input {
            Some(input) => input_shape(self, input)?,
            None => first_input(self)?,
        };
        let input = shape.clone();
        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let prev = if i == 0 {
                None
            } else {
                Some(&self.layers[i - 1])
            };
            let planned = lower_layer(self, layer, prev, &shape)?;
            shape = planned.output.clone();
            layers.push(planned);
        }
        let Shape::Flat(outputs) = shape.clone() else {
            let last = layers.last().expect("validated: not empty").layer;
            return Err(Error::new(
                last.kind.span(),
                format!(
                    "the network's output must be a vector, but {} produces {}; end with `Flatten` (or \
                     `GlobalAvgPool`) and a `Dense`",
                    last.describe(),
                    shape.describe()
                ),
            ));
        };
        Ok(Plan {
            net: self,
            inputs: input.len(),
            input,
            layers,
            outputs,
        })
    }
}

fn input_shape(net: &Net, input: &crate::ast::InputShape) -> Result<Shape> {
    let dims: Vec<Dim> = input
        .dims
        .iter()
        .map(|arg| match arg {
            Arg::Int(lit) if lit.base10_parse::<usize>().is_ok_and(|n| n > 0) => Ok(Dim::of(arg)),
            Arg::Int(_) | Arg::Path(_) => Ok(Dim::of(arg)).and_then(|d| {
                if d.lit() == Some(0) {
                    Err(zero_dim(arg))
                } else {
                    Ok(d)
                }
            }),
            Arg::Expr(syn::Expr::Block(_)) => Ok(Dim::of(arg)),
            _ => Err(zero_dim(arg)),
        })
        .collect::<Result<_>>()?;
    match dims.as_slice() {
        [n] => Ok(Shape::Flat(n.clone())),
        [c, l] => Ok(Shape::D1(c.clone(), l.clone())),
        [c, h, w] => Ok(Shape::D2(c.clone(), h.clone(), w.clone())),
        _ => Err(Error::new(
            input.span,
            format!(
                "network `{}`: `#[input(..)]` takes the shape of one sample: `#[input(N)]`, `#[input(C, L)]` \
                 (channels, length) or `#[input(C, H, W)]` (channels, height, width)",
                net.ident
            ),
        )),
    }
}

fn zero_dim(arg: &Arg) -> Error {
    Error::new(
        arg.span(),
        "an input dimension is a positive integer, a `usize` const or a braced const expression",
    )
}

/// Without `#[input]`, a first `Dense` or `Normalization` says the input width itself.
fn first_input(net: &Net) -> Result<Shape> {
    let first = &net.layers[0];
    if first.kind == "Dense" || first.kind == "Normalization" {
        return Ok(Shape::Flat(Dim::of(&first.args[0])));
    }
    Err(Error::new(
        first.kind.span(),
        format!(
            "{} is `{}`, which needs the shape of its input: add `#[input(C, H, W)]` (or `#[input(C, L)]` for 1-D, \
             `#[input(N)]` for a vector) to `struct {}`",
            first.describe(),
            first.kind,
            net.ident
        ),
    ))
}

fn activation(layer: &Layer, position: usize) -> TokenStream {
    match layer.args.get(position) {
        None => quote_spanned!(layer.kind.span()=> ::constnet::Identity),
        // Ordinary name resolution: the user's own activations and constnet's alike.
        Some(arg) => match arg {
            Arg::Path(path) => path.to_token_stream(),
            Arg::Type(ty) => ty.to_token_stream(),
            other => Dim::of(other).expr(),
        },
    }
}

/// `who` after `prev`, for messages.
fn source(prev: Option<&Layer>) -> String {
    match prev {
        Some(p) => format!("{} before it", p.describe()),
        None => "the network's input".to_string(),
    }
}

fn lower_layer<'a>(
    net: &Net,
    layer: &'a Layer,
    prev: Option<&Layer>,
    input: &Shape,
) -> Result<Planned<'a>> {
    let kind = layer.kind.to_string();
    let span = layer.kind.span();
    let path = |name: &str| {
        let ident = syn::Ident::new(name, span);
        quote_spanned!(span=> ::constnet::#ident)
    };
    let needs = |what: &str, example: &str| {
        Error::new(
            span,
            format!(
                "{} is `{kind}` and needs {what} input, but {} produces {} values ({}); {example}",
                layer.describe(),
                source(prev),
                input.describe(),
                shape_word(input),
            ),
        )
    };
    let linear = match kind.as_str() {
        "Dense" | "Conv2d" | "Conv1d" => is_linear(layer.args.get(2)),
        "DepthwiseConv2d" => is_linear(layer.args.get(1)),
        _ => false,
    };
    let planned = |ty: TokenStream, output: Shape| Planned {
        layer,
        ty,
        output,
        check: None,
        linear,
    };
    match kind.as_str() {
        "Dense" => {
            let Shape::Flat(arriving) = input else {
                return Err(Error::new(
                    span,
                    format!(
                        "{} is `Dense` and needs a flat input, but {} produces {}; add `Flatten` before it \
                         (its output is {} values)",
                        layer.describe(),
                        source(prev),
                        input.describe(),
                        input.len().text()
                    ),
                ));
            };
            let declared = Dim::of(&layer.args[0]);
            let out = Dim::of(&layer.args[1]);
            let check = compare_width(net, layer, prev, &declared, arriving, input)?;
            let (i, o, a) = (
                dim_arg(&layer.args[0]),
                dim_arg(&layer.args[1]),
                activation(layer, 2),
            );
            let dense = path("Dense");
            Ok(Planned {
                check,
                ..planned(quote!(#dense<#i, #o, #a>), Shape::Flat(out))
            })
        }
        "Conv2d" | "DepthwiseConv2d" => {
            let Shape::D2(c, h, w) = input else {
                return Err(needs(
                    "a (channels, height, width)",
                    "convolutions go before `Flatten`, and a network of them declares `#[input(C, H, W)]`",
                ));
            };
            let depthwise = kind == "DepthwiseConv2d";
            let (filters, k) = if depthwise {
                (c.clone(), Dim::of(&layer.args[0]))
            } else {
                (Dim::of(&layer.args[0]), Dim::of(&layer.args[1]))
            };
            if !depthwise {
                check_channels(layer, c)?;
            }
            let (s, same) = stride_padding(layer);
            let oh = conv_out(layer, h, &k, &s, same, "height", input)?;
            let ow = conv_out(layer, w, &k, &s, same, "width", input)?;
            let a = activation(layer, if depthwise { 1 } else { 2 });
            let (ca, ha, wa, fa, ka, sa) =
                (c.arg(), h.arg(), w.arg(), filters.arg(), k.arg(), s.arg());
            let (oha, owa) = (oh.arg(), ow.arg());
            let ty = if depthwise {
                let p = path("DepthwiseConv2d");
                quote!(#p<#ca, #ha, #wa, #ka, #sa, #same, #oha, #owa, #a>)
            } else {
                let p = path("Conv2d");
                quote!(#p<#ca, #ha, #wa, #fa, #ka, #sa, #same, #oha, #owa, #a>)
            };
            Ok(planned(ty, Shape::D2(filters, oh, ow)))
        }
        "Conv1d" => {
            let Shape::D1(c, l) = input else {
                return Err(needs(
                    "a (channels, length)",
                    "1-D convolutions go before `Flatten`, and a network of them declares `#[input(C, L)]`",
                ));
            };
            check_channels(layer, c)?;
            let (filters, k) = (Dim::of(&layer.args[0]), Dim::of(&layer.args[1]));
            let (s, same) = stride_padding(layer);
            let ol = conv_out(layer, l, &k, &s, same, "length", input)?;
            let a = activation(layer, 2);
            let (ca, la, fa, ka, sa, ola) =
                (c.arg(), l.arg(), filters.arg(), k.arg(), s.arg(), ol.arg());
            let p = path("Conv1d");
            Ok(planned(
                quote!(#p<#ca, #la, #fa, #ka, #sa, #same, #ola, #a>),
                Shape::D1(filters, ol),
            ))
        }
        "MaxPool2d" | "AvgPool2d" => {
            let Shape::D2(c, h, w) = input else {
                return Err(needs(
                    "a (channels, height, width)",
                    "2-D pooling goes before `Flatten`; for (channels, length) use `MaxPool1d`/`AvgPool1d`",
                ));
            };
            let p = Dim::of(&layer.args[0]);
            let oh = pool_out(layer, h, &p, "height", input)?;
            let ow = pool_out(layer, w, &p, "width", input)?;
            let (ca, ha, wa, pa, oha, owa) =
                (c.arg(), h.arg(), w.arg(), p.arg(), oh.arg(), ow.arg());
            let ty = path(&kind);
            Ok(planned(
                quote!(#ty<#ca, #ha, #wa, #pa, #oha, #owa>),
                Shape::D2(c.clone(), oh, ow),
            ))
        }
        "MaxPool1d" | "AvgPool1d" => {
            let Shape::D1(c, l) = input else {
                return Err(needs(
                    "a (channels, length)",
                    "1-D pooling goes before `Flatten`; for (channels, height, width) use `MaxPool2d`/`AvgPool2d`",
                ));
            };
            let p = Dim::of(&layer.args[0]);
            let ol = pool_out(layer, l, &p, "length", input)?;
            let (ca, la, pa, ola) = (c.arg(), l.arg(), p.arg(), ol.arg());
            let ty = path(&kind);
            Ok(planned(
                quote!(#ty<#ca, #la, #pa, #ola>),
                Shape::D1(c.clone(), ol),
            ))
        }
        "GlobalAvgPool" => match input {
            Shape::D2(c, h, w) => {
                let (ca, ha, wa) = (c.arg(), h.arg(), w.arg());
                let ty = path("GlobalAvgPool2d");
                Ok(planned(quote!(#ty<#ca, #ha, #wa>), Shape::Flat(c.clone())))
            }
            Shape::D1(c, l) => {
                let (ca, la) = (c.arg(), l.arg());
                let ty = path("GlobalAvgPool1d");
                Ok(planned(quote!(#ty<#ca, #la>), Shape::Flat(c.clone())))
            }
            Shape::Flat(_) => Err(needs("a (channels, ...)", "there is nothing left to pool")),
        },
        "Flatten" => {
            let n = input.len();
            let na = n.arg();
            match input {
                Shape::D2(c, h, w) => {
                    let (ca, ha, wa) = (c.arg(), h.arg(), w.arg());
                    let ty = path("Flatten2d");
                    Ok(planned(quote!(#ty<#ca, #ha, #wa, #na>), Shape::Flat(n)))
                }
                Shape::D1(c, l) => {
                    let (ca, la) = (c.arg(), l.arg());
                    let ty = path("Flatten1d");
                    Ok(planned(quote!(#ty<#ca, #la, #na>), Shape::Flat(n)))
                }
                Shape::Flat(_) => Err(needs(
                    "a (channels, ...)",
                    "it is flat already; remove this `Flatten`",
                )),
            }
        }
        "Dropout" => {
            let t = input.tensor();
            let rate = dim_arg(&layer.args[0]);
            let ty = path("Dropout");
            Ok(planned(quote!(#ty<#t, #rate>), input.clone()))
        }
        "BatchNorm" => {
            let ty = match input {
                Shape::Flat(n) => {
                    let (p, n) = (path("BatchNormDense"), n.arg());
                    quote!(#p<#n>)
                }
                Shape::D1(c, l) => {
                    let (p, c, l) = (path("BatchNorm1d"), c.arg(), l.arg());
                    quote!(#p<#c, #l>)
                }
                Shape::D2(c, h, w) => {
                    let (p, c, h, w) = (path("BatchNorm2d"), c.arg(), h.arg(), w.arg());
                    quote!(#p<#c, #h, #w>)
                }
            };
            Ok(planned(ty, input.clone()))
        }
        "Normalization" => {
            let Shape::Flat(arriving) = input else {
                return Err(Error::new(
                    span,
                    format!(
                        "{} is `Normalization`, which normalises the features of a vector, but {} produces \
                         {}; declare a vector input (`#[input(N)]`) or put it after `Flatten` (which makes {} \
                         values)",
                        layer.describe(),
                        source(prev),
                        input.describe(),
                        input.len().text()
                    ),
                ));
            };
            let declared = Dim::of(&layer.args[0]);
            let check = compare_width(net, layer, prev, &declared, arriving, input)?;
            let (n, ty) = (dim_arg(&layer.args[0]), path("Normalization"));
            Ok(Planned {
                check,
                ..planned(quote!(#ty<#n>), Shape::Flat(declared))
            })
        }
        _ => unreachable!("valid.rs checked the kind"),
    }
}

/// No activation, or `Identity` by name.
fn is_linear(activation: Option<&Arg>) -> bool {
    match activation {
        None => true,
        Some(Arg::Path(path)) => path.segments.last().is_some_and(|s| s.ident == "Identity"),
        Some(_) => false,
    }
}

fn shape_word(shape: &Shape) -> &'static str {
    match shape {
        Shape::Flat(_) => "a vector",
        Shape::D1(..) => "channels x length",
        Shape::D2(..) => "channels x height x width",
    }
}

/// A width argument as a const generic argument, spanned where the user wrote it.
fn dim_arg(arg: &Arg) -> TokenStream {
    let span = arg.span();
    let tokens = Dim::of(arg).arg();
    // Respan literals (they are rebuilt without suffix) so that errors point at the user's text.
    tokens
        .into_iter()
        .map(|mut t| {
            if matches!(t, proc_macro2::TokenTree::Literal(_)) {
                t.set_span(span);
            }
            t
        })
        .collect()
}

/// A `Dense` declares its input width; compare it with what arrives.
fn compare_width(
    net: &Net,
    layer: &Layer,
    prev: Option<&Layer>,
    declared: &Dim,
    arriving: &Dim,
    input: &Shape,
) -> Result<Option<Check>> {
    let decl_span = layer.args[0].span();
    if let (Some(d), Some(a)) = (declared.lit(), arriving.lit()) {
        if d == a {
            return Ok(None);
        }
        let what = match prev {
            Some(p) if p.kind == "Flatten" || p.kind == "GlobalAvgPool" => {
                format!("{} before it produces {a} outputs", p.describe())
            }
            Some(p) => format!("{} before it produces {a} outputs", p.describe()),
            None => format!("the network's input (`#[input]`) has {a} values"),
        };
        return Err(Error::new(
            decl_span,
            format!(
                "{} takes {d} inputs, but {what}; change this to {a}",
                layer.describe()
            ),
        ));
    }
    let from = match prev {
        Some(p) => format!(
            "the `{}` outputs of {} before it",
            arriving.text(),
            p.describe()
        ),
        None => format!("the `{}` values of the network's input", input.len().text()),
    };
    Ok(Some(Check {
        declared: declared.clone(),
        arriving: arriving.clone(),
        span: decl_span,
        message: format!(
            "network `{}`: {} takes `{}` inputs, which must equal {from}",
            net.ident,
            layer.describe(),
            declared.text()
        ),
    }))
}

/// `in_channels = N` on a convolution is a check, like `Dense`'s input width.
fn check_channels(layer: &Layer, arriving: &Dim) -> Result<()> {
    let Some(arg) = layer.option("in_channels") else {
        return Ok(());
    };
    match (Dim::of(arg).lit(), arriving.lit()) {
        (Some(d), Some(a)) if d != a => Err(Error::new(
            arg.span(),
            format!(
                "{} takes {d} input channels, but its input has {a}; change this to {a}",
                layer.describe()
            ),
        )),
        _ => Ok(()),
    }
}

/// Stride (1 unless given) and whether the padding is 'same'.
pub(crate) fn stride_padding(layer: &Layer) -> (Dim, bool) {
    let stride = layer.option("stride").map_or(Dim::Lit(1), Dim::of);
    let same = matches!(layer.option("padding"), Some(Arg::Path(p)) if p.is_ident("Same"));
    (stride, same)
}

fn conv_out(
    layer: &Layer,
    n: &Dim,
    k: &Dim,
    s: &Dim,
    same: bool,
    which: &str,
    input: &Shape,
) -> Result<Dim> {
    if same {
        return Ok(n.conv_out(k, s, true));
    }
    if let (Some(n), Some(kv)) = (n.lit(), k.lit()) {
        if kv > n {
            return Err(Error::new(
                layer.args[if layer.kind == "DepthwiseConv2d" { 0 } else { 1 }].span(),
                format!(
                    "{}: kernel {kv} is larger than its input's {which} {n} (input {}); use a smaller kernel \
                     or `padding = Same`",
                    layer.describe(),
                    input.describe()
                ),
            ));
        }
    }
    Ok(n.conv_out(k, s, false))
}

fn pool_out(layer: &Layer, n: &Dim, p: &Dim, which: &str, input: &Shape) -> Result<Dim> {
    if let (Some(nv), Some(pv)) = (n.lit(), p.lit()) {
        if nv % pv != 0 {
            return Err(Error::new(
                layer.args[0].span(),
                format!(
                    "{}: pool size {pv} does not divide its input's {which} {nv} (input {}); constnet does not \
                     drop the last {} as Keras and PyTorch do: pick a size that divides it, or change the \
                     layer before",
                    layer.describe(),
                    input.describe(),
                    if which == "length" { "values" } else { "rows/columns" },
                ),
            ));
        }
    }
    Ok(n.div(p))
}
