//! Every check of a `network!` invocation, each a plain function returning a `syn::Error` spanned on
//! the offending token, with a message that says what to do.
//!
//! Widths given as literals are compared here; widths given as named consts are compared by the
//! const assertions that `expand.rs` emits, since the macro sees their names, not their values.

use std::collections::HashMap;

use syn::{Error, Expr, ExprLit, ExprUnary, Lit, Meta, Result, UnOp};

use crate::ast::{Arg, Layer, Net};

/// Layer kinds the macro knows.
pub const LAYERS: &[&str] = &["Dense"];

/// Built-in activations: inside `network!` these names always mean constnet's types.
pub const ACTIVATIONS: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Identity",
    "Step",
];

impl Net {
    /// All problems of one network, combined so the user sees them at once.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        errors.extend(check_attrs(self).err());
        errors.extend(check_not_empty(self).err());
        errors.extend(check_unique_names(self).err());
        for layer in &self.layers {
            if let Err(e) = check_layer(layer) {
                errors.push(e);
            }
        }
        // Chain checks read the widths, which only a well-formed layer has.
        if errors.is_empty() {
            for pair in self.layers.windows(2) {
                errors.extend(check_chain(&pair[0], &pair[1]).err());
            }
        }
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}

impl Layer {
    /// Input width (valid layers only).
    pub fn inputs(&self) -> &Arg {
        &self.args[0]
    }

    /// Output width (valid layers only).
    pub fn outputs(&self) -> &Arg {
        &self.args[1]
    }

    /// Activation, if given (valid layers only).
    pub fn activation(&self) -> Option<&Arg> {
        self.args.get(2)
    }
}

/// The macro fixes the memory layout (`#[repr(C)]`) that the flat parameter view relies on.
fn check_attrs(net: &Net) -> Result<()> {
    for attr in &net.attrs {
        if let Meta::List(list) = &attr.meta {
            if list.path.is_ident("repr") {
                return Err(Error::new_spanned(
                    attr,
                    "`network!` sets the memory layout of a network itself (`#[repr(C)]`); remove this `#[repr]`",
                ));
            }
        }
    }
    Ok(())
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
    check_kind(layer)?;
    check_arity(layer)?;
    check_width(layer, &layer.args[0], "input")?;
    check_width(layer, &layer.args[1], "output")?;
    if let Some(act) = layer.args.get(2) {
        check_activation(layer, act)?;
    }
    Ok(())
}

fn check_kind(layer: &Layer) -> Result<()> {
    if LAYERS.iter().any(|k| layer.kind == k) {
        return Ok(());
    }
    Err(Error::new(
        layer.kind.span(),
        format!(
            "unknown layer `{}`; the layers are: {}",
            layer.kind,
            LAYERS.join(", ")
        ),
    ))
}

fn check_arity(layer: &Layer) -> Result<()> {
    if (2..=3).contains(&layer.args.len()) {
        return Ok(());
    }
    Err(Error::new(
        layer.args_span,
        format!(
            "{} has {} generic argument(s); write `Dense<INPUTS, OUTPUTS, Activation>` (without an activation the layer is linear)",
            layer.describe(),
            layer.args.len()
        ),
    ))
}

fn check_width(layer: &Layer, arg: &Arg, which: &str) -> Result<()> {
    let bad = |what: String| {
        Err(Error::new(
            arg.span(),
            format!(
                "{} {which} width {what}; a width is a positive integer or the name of a `usize` const",
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

fn check_activation(layer: &Layer, arg: &Arg) -> Result<()> {
    match arg {
        Arg::Path(path) => {
            let Some(ident) = path.get_ident() else {
                return Ok(()); // a qualified path names the user's own activation
            };
            let name = ident.to_string();
            if ACTIVATIONS.contains(&name.as_str()) {
                return Ok(());
            }
            match closest_activation(&name) {
                Some(suggestion) => Err(Error::new(
                    ident.span(),
                    format!(
                        "unknown activation `{name}` in {}: did you mean `{suggestion}`? The activations are: {}. \
                         A custom activation is a type implementing `constnet::Activation`",
                        layer.describe(),
                        ACTIVATIONS.join(", ")
                    ),
                )),
                // Not close to any built-in: the user's own type, resolved by rustc.
                None => Ok(()),
            }
        }
        Arg::Type(_) => Ok(()),
        Arg::Int(_) | Arg::Expr(_) => Err(Error::new(
            arg.span(),
            format!(
                "{} has a third argument that is not an activation; the activations are: {}",
                layer.describe(),
                ACTIVATIONS.join(", ")
            ),
        )),
    }
}

/// A built-in activation that `name` is probably a misspelling of (`ReLU`, `Sigmod`, `Linear`).
fn closest_activation(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    if lower == "linear" {
        return Some("Identity");
    }
    ACTIVATIONS
        .iter()
        .copied()
        .find(|a| a.to_lowercase() == lower)
        .or_else(|| {
            ACTIVATIONS
                .iter()
                .copied()
                // Tight for short names: `Elu` or `Gelu` are real activations a user may define.
                .find(|a| {
                    let allowed = match lower.len() {
                        0..=4 => 0,
                        5..=7 => 1,
                        _ => 2,
                    };
                    edit_distance(&a.to_lowercase(), &lower) <= allowed
                })
        })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Consecutive literal widths must agree. Named consts are checked in const evaluation instead
/// (see `expand::chain_assertions`).
fn check_chain(prev: &Layer, next: &Layer) -> Result<()> {
    let (Arg::Int(out), Arg::Int(inp)) = (prev.outputs(), next.inputs()) else {
        return Ok(());
    };
    let (out_n, in_n) = (out.base10_parse::<usize>()?, inp.base10_parse::<usize>()?);
    if out_n == in_n {
        return Ok(());
    }
    Err(Error::new(
        inp.span(),
        format!(
            "{} takes {in_n} inputs, but {} before it produces {out_n} outputs; change this to {out_n}",
            next.describe(),
            prev.describe()
        ),
    ))
}
