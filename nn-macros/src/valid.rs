//! Every check of a `network!` invocation that needs no shapes, each a plain function returning a
//! `syn::Error` spanned on the offending token, with a message that says what to do. Checks that
//! need the computed shapes (a kernel larger than its input, a `Dense` whose input width does not
//! fit) run in `lower.rs`, where the shapes are computed.

use std::collections::HashMap;

use syn::{Error, Expr, ExprLit, ExprUnary, Lit, Meta, Result, UnOp};

use crate::ast::{Arg, Input, Layer, Net};

/// What a positional argument of a layer is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// A positive `usize`, named for messages (`input`, `filters`, …).
    Width(&'static str),
    /// A dropout rate in percent, `0..=99`.
    Percent,
}

/// A layer kind the macro knows: its positional parameters, whether an activation may follow
/// them, and its `name = value` options.
pub struct Kind {
    pub name: &'static str,
    pub params: &'static [Param],
    pub activation: bool,
    pub options: &'static [&'static str],
    /// How it is written, for messages.
    pub syntax: &'static str,
}

const CONV_OPTIONS: &[&str] = &["stride", "padding", "in_channels", "init"];

/// Layer kinds the macro knows.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "Dense",
        params: &[Param::Width("input"), Param::Width("output")],
        activation: true,
        options: &["init"],
        syntax: "`Dense<INPUTS, OUTPUTS, Activation, init = Glorot>` (without an activation the layer is linear; \
                 `init = He` draws He-uniform weights)",
    },
    Kind {
        name: "Conv2d",
        params: &[Param::Width("filters"), Param::Width("kernel")],
        activation: true,
        options: CONV_OPTIONS,
        syntax: "`Conv2d<FILTERS, KERNEL, Activation, stride = 1, padding = Valid, init = Glorot>`",
    },
    Kind {
        name: "Conv1d",
        params: &[Param::Width("filters"), Param::Width("kernel")],
        activation: true,
        options: CONV_OPTIONS,
        syntax: "`Conv1d<FILTERS, KERNEL, Activation, stride = 1, padding = Valid, init = Glorot>`",
    },
    Kind {
        name: "DepthwiseConv2d",
        params: &[Param::Width("kernel")],
        activation: true,
        options: &["stride", "padding", "init"],
        syntax: "`DepthwiseConv2d<KERNEL, Activation, stride = 1, padding = Valid, init = Glorot>`",
    },
    Kind {
        name: "MaxPool2d",
        params: &[Param::Width("pool size")],
        activation: false,
        options: &[],
        syntax: "`MaxPool2d<SIZE>`",
    },
    Kind {
        name: "AvgPool2d",
        params: &[Param::Width("pool size")],
        activation: false,
        options: &[],
        syntax: "`AvgPool2d<SIZE>`",
    },
    Kind {
        name: "MaxPool1d",
        params: &[Param::Width("pool size")],
        activation: false,
        options: &[],
        syntax: "`MaxPool1d<SIZE>`",
    },
    Kind {
        name: "AvgPool1d",
        params: &[Param::Width("pool size")],
        activation: false,
        options: &[],
        syntax: "`AvgPool1d<SIZE>`",
    },
    Kind {
        name: "GlobalAvgPool",
        params: &[],
        activation: false,
        options: &[],
        syntax: "`GlobalAvgPool`",
    },
    Kind {
        name: "Flatten",
        params: &[],
        activation: false,
        options: &[],
        syntax: "`Flatten`",
    },
    Kind {
        name: "Dropout",
        params: &[Param::Percent],
        activation: false,
        options: &[],
        syntax: "`Dropout<PERCENT>` (e.g. Dropout<25> drops 25 % in training)",
    },
    Kind {
        name: "BatchNorm",
        params: &[],
        activation: false,
        options: &[],
        syntax: "`BatchNorm`",
    },
    Kind {
        name: "Normalization",
        params: &[Param::Width("input")],
        activation: false,
        options: &[],
        syntax: "`Normalization<FEATURES>` (Keras' `Normalization`: mean and variance from `adapt`)",
    },
];

/// The kind called `name`, if the macro knows it.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

impl Input {
    /// Problems that involve several networks of one invocation.
    pub fn validate(&self) -> Result<()> {
        let mut seen: HashMap<String, &Net> = HashMap::new();
        for net in &self.nets {
            let key = net.ident.to_string();
            if seen.contains_key(&key) {
                return Err(Error::new(
                    net.ident.span(),
                    format!("network `{key}` is declared twice in this `network!`; give each its own name"),
                ));
            }
            seen.insert(key, net);
        }
        Ok(())
    }
}

impl Net {
    /// All shape-independent problems of one network, combined so the user sees them at once.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        errors.extend(check_attrs(self).err());
        errors.extend(check_generics(self).err());
        errors.extend(check_not_empty(self).err());
        errors.extend(check_unique_names(self).err());
        for layer in &self.layers {
            errors.extend(check_layer(layer).err());
        }
        combine(errors)
    }
}

/// One error carrying all of `errors`, or `Ok` if there are none.
pub fn combine(errors: Vec<Error>) -> Result<()> {
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

/// The macro fixes the memory layout (`#[repr(C)]`) that the flat parameter view relies on, also
/// through `cfg_attr`.
fn check_attrs(net: &Net) -> Result<()> {
    for attr in &net.attrs {
        let Meta::List(list) = &attr.meta else {
            continue;
        };
        let sets_repr = list.path.is_ident("repr")
            || (list.path.is_ident("cfg_attr")
                && list
                    .tokens
                    .clone()
                    .into_iter()
                    .any(|t| matches!(t, proc_macro2::TokenTree::Ident(ref i) if i == "repr")));
        if sets_repr {
            return Err(Error::new_spanned(
                attr,
                "`network!` sets the memory layout of a network itself (`#[repr(C)]`); remove this `#[repr]`",
            ));
        }
    }
    Ok(())
}

/// A network is one concrete type: its sizes are fixed, so it takes no generic parameters.
fn check_generics(net: &Net) -> Result<()> {
    if net.generics.params.is_empty() && net.generics.where_clause.is_none() {
        return Ok(());
    }
    Err(Error::new_spanned(
        &net.generics,
        format!(
            "network `{}` cannot have generic parameters or lifetimes: its layer sizes are part of its type; \
             use consts for the sizes instead (`const H: usize = 64;` and `Dense<784, H, Relu>`)",
            net.ident
        ),
    ))
}

fn check_not_empty(net: &Net) -> Result<()> {
    if net.layers.is_empty() {
        return Err(Error::new(
            net.brace_span,
            format!(
                "network `{}` has no layers; list at least one, e.g. `{{ Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid> }}`",
                net.ident
            ),
        ));
    }
    Ok(())
}

fn check_unique_names(net: &Net) -> Result<()> {
    let mut seen: HashMap<String, &Layer> = HashMap::new();
    for layer in &net.layers {
        let key = layer.name.to_string();
        if let Some(first) = seen.get(&key) {
            let span = layer
                .given_name
                .as_ref()
                .map_or(layer.kind.span(), |n| n.span());
            return Err(Error::new(
                span,
                format!(
                    "duplicate layer name `{key}`: {} already has it; give each layer its own name",
                    first.describe()
                ),
            ));
        }
        seen.insert(key, layer);
    }
    Ok(())
}

fn check_layer(layer: &Layer) -> Result<()> {
    check_layer_attrs(layer)?;
    let kind = check_kind(layer)?;
    check_arity(layer, kind)?;
    for (param, arg) in kind.params.iter().zip(&layer.args) {
        match param {
            Param::Width(which) => check_width(layer, arg, which)?,
            Param::Percent => check_percent(layer, arg)?,
        }
    }
    if let Some(act) = layer.args.get(kind.params.len()) {
        check_activation(layer, act)?;
    }
    check_options(layer, kind)
}

/// Only doc comments pass through to a layer's field: anything else (`#[cfg]`) would change the
/// layout that the shapes were computed for.
fn check_layer_attrs(layer: &Layer) -> Result<()> {
    match layer.attrs.iter().find(|a| !a.path().is_ident("doc")) {
        None => Ok(()),
        Some(attr) => Err(Error::new_spanned(
            attr,
            format!(
                "{}: only doc comments can be put on a layer",
                layer.describe()
            ),
        )),
    }
}

fn check_kind(layer: &Layer) -> Result<&'static Kind> {
    kind(&layer.kind.to_string()).ok_or_else(|| {
        let names: Vec<_> = KINDS.iter().map(|k| k.name).collect();
        Error::new(
            layer.kind.span(),
            format!(
                "unknown layer `{}`; the layers are: {}",
                layer.kind,
                names.join(", ")
            ),
        )
    })
}

fn check_arity(layer: &Layer, kind: &Kind) -> Result<()> {
    let (needed, found) = (kind.params.len(), layer.args.len());
    let most = needed + usize::from(kind.activation);
    // An activation written where a width goes (`Dense<784, Relu>`): say that, not "arity".
    if found < needed {
        if let Some((i, arg)) = layer
            .args
            .iter()
            .enumerate()
            .find(|(_, a)| looks_like_a_type(a))
        {
            if let Param::Width(which) = kind.params[i] {
                return Err(Error::new(
                    arg.span(),
                    format!(
                        "{} needs its {which} width here, but this looks like an activation; write {}",
                        layer.describe(),
                        kind.syntax
                    ),
                ));
            }
        }
    }
    if (needed..=most).contains(&found) {
        return Ok(());
    }
    Err(Error::new(
        layer.args_span,
        format!(
            "{} has {found} generic argument(s); write {}",
            layer.describe(),
            kind.syntax
        ),
    ))
}

/// `Relu`, `my::Swish`: a CamelCase path is a type, not a const (consts are SCREAMING_CASE).
fn looks_like_a_type(arg: &Arg) -> bool {
    match arg {
        Arg::Path(path) => path.segments.last().is_some_and(|s| {
            let name = s.ident.to_string();
            name.chars().next().is_some_and(char::is_uppercase)
                && name.chars().any(char::is_lowercase)
        }),
        Arg::Type(_) => true,
        _ => false,
    }
}

fn check_width(layer: &Layer, arg: &Arg, which: &str) -> Result<()> {
    let bad = |what: String| {
        Err(Error::new(
            arg.span(),
            format!(
                "{} {which} width {what}; a width is a positive integer, a `usize` const or a braced const expression",
                layer.describe()
            ),
        ))
    };
    match arg {
        Arg::Int(lit) => match lit.base10_parse::<usize>() {
            Ok(0) => bad("is 0".into()),
            Ok(_) if !matches!(lit.suffix(), "" | "usize") => {
                bad(format!("`{lit}` has suffix `{}`", lit.suffix()))
            }
            Ok(_) => Ok(()),
            Err(_) => bad(format!("`{lit}` does not fit in a usize")),
        },
        Arg::Path(_) if looks_like_a_type(arg) => bad("is a type (an activation?)".into()),
        Arg::Path(_) => Ok(()),
        Arg::Expr(Expr::Lit(ExprLit { lit, .. })) => match lit {
            Lit::Float(f) => bad(format!("`{f}` is not a whole number")),
            _ => bad("is not a number".into()),
        },
        Arg::Expr(Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        })) => bad("is negative".into()),
        // A braced const expression, `{ 2 * HIDDEN }`: rustc checks its type.
        Arg::Expr(_) => Ok(()),
        Arg::Type(_) => bad("is a type".into()),
    }
}

fn check_percent(layer: &Layer, arg: &Arg) -> Result<()> {
    if let Arg::Int(lit) = arg {
        if let Ok(p) = lit.base10_parse::<u32>() {
            if p < 100 {
                return Ok(());
            }
        }
    }
    Err(Error::new(
        arg.span(),
        format!(
            "{}: the dropout rate is a whole percentage from 0 to 99, e.g. `Dropout<25>`",
            layer.describe()
        ),
    ))
}

/// The activation is a type and is left to ordinary name resolution (a user's own `Relu6` or
/// `PRelu` resolves like any type); only what cannot be a type is refused here.
fn check_activation(layer: &Layer, arg: &Arg) -> Result<()> {
    match arg {
        Arg::Path(_) | Arg::Type(_) => Ok(()),
        Arg::Int(_) | Arg::Expr(_) => Err(Error::new(
            arg.span(),
            format!(
                "{} has an argument that is not an activation; an activation is a type such as `Relu`, `Softmax` or \
                 your own type implementing `constnet::Activation`",
                layer.describe()
            ),
        )),
    }
}

fn check_options(layer: &Layer, kind: &Kind) -> Result<()> {
    for (name, arg) in &layer.options {
        let known = name.to_string();
        if !kind.options.contains(&known.as_str()) {
            let options = if kind.options.is_empty() {
                "it has none".to_string()
            } else {
                format!("its options are {}", kind.options.join(", "))
            };
            return Err(Error::new(
                name.span(),
                format!("{} has no option `{known}`: {options}", layer.describe()),
            ));
        }
        match known.as_str() {
            "padding" => {
                let ok = matches!(arg, Arg::Path(p) if p.is_ident("Valid") || p.is_ident("Same"));
                if !ok {
                    return Err(Error::new(
                        arg.span(),
                        format!(
                            "{}: padding is `Valid` (no padding) or `Same` (as Keras)",
                            layer.describe()
                        ),
                    ));
                }
            }
            "init" => {
                let ok = matches!(arg, Arg::Path(p) if p.is_ident("Glorot") || p.is_ident("He"));
                if !ok {
                    return Err(Error::new(
                        arg.span(),
                        format!(
                            "{}: init is `Glorot` (uniform, Keras' default) or `He` (uniform, for ReLU)",
                            layer.describe()
                        ),
                    ));
                }
            }
            _ => check_width(layer, arg, &known)?,
        }
    }
    Ok(())
}
