//! Code generation only: every check happened in `valid.rs`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};

use crate::ast::{Arg, Input, Layer, Net};
use crate::valid::ACTIVATIONS;

pub fn expand(input: &Input) -> TokenStream {
    input
        .nets
        .iter()
        .map(|net| match net.validate() {
            Ok(()) => expand_net(net),
            Err(err) => err.to_compile_error(),
        })
        .collect()
}

fn width(arg: &Arg) -> TokenStream {
    match arg {
        Arg::Int(lit) => {
            // Drop any `usize` suffix: the value is what matters.
            let value = lit.base10_digits();
            syn::LitInt::new(value, lit.span()).into_token_stream()
        }
        Arg::Path(path) => path.to_token_stream(),
        Arg::Expr(expr) => expr.to_token_stream(),
        Arg::Type(ty) => ty.to_token_stream(),
    }
}

fn activation(layer: &Layer) -> TokenStream {
    match layer.activation() {
        None => quote!(::constnet::Identity),
        Some(Arg::Path(path)) => match path.get_ident() {
            // Built-in names mean constnet's types whatever is in scope, as `Dense` does.
            Some(ident) if ACTIVATIONS.contains(&ident.to_string().as_str()) => {
                quote_spanned!(ident.span()=> ::constnet::activation::#ident)
            }
            _ => path.to_token_stream(),
        },
        Some(other) => width(other),
    }
}

/// `::constnet::Dense<IN, OUT, Act>` for a layer.
fn layer_type(layer: &Layer) -> TokenStream {
    let (i, o, a) = (
        width(layer.inputs()),
        width(layer.outputs()),
        activation(layer),
    );
    quote_spanned!(layer.kind.span()=> ::constnet::Dense<#i, #o, #a>)
}

fn expand_net(net: &Net) -> TokenStream {
    let Net {
        attrs, vis, ident, ..
    } = net;
    let layers = &net.layers;
    let names: Vec<_> = layers.iter().map(|l| &l.name).collect();
    let types: Vec<_> = layers.iter().map(layer_type).collect();
    let ins: Vec<_> = layers.iter().map(|l| width(l.inputs())).collect();
    let outs: Vec<_> = layers.iter().map(|l| width(l.outputs())).collect();
    let acts: Vec<_> = layers.iter().map(activation).collect();
    let n = layers.len();
    let input = &ins[0];
    let output = &outs[n - 1];
    let field_docs = layers
        .iter()
        .map(|l| format!("Layer {} of the network.", l.index));
    let name_strs = names.iter().map(|n| n.to_string());
    let kinds = layers.iter().map(|l| l.kind.to_string());
    let net_name = ident.to_string();

    let forward_batch = forward_batch(layers);
    let gradient = gradient(layers, &types);
    let checks = chain_assertions(net);

    quote! {
        #(#attrs)*
        #[repr(C)]
        #vis struct #ident {
            #(
                #[doc = #field_docs]
                #vis #names: #types,
            )*
        }

        #checks

        // SAFETY: `#[repr(C)]` struct of `Dense` layers (themselves padding-free f32 blocks); the
        // assertion below confirms that the struct is exactly its parameters.
        unsafe impl ::constnet::Parameters for #ident {}

        const _: () = ::core::assert!(
            ::core::mem::size_of::<#ident>() == #ident::PARAMS * ::core::mem::size_of::<f32>()
        );

        #[allow(dead_code)]
        impl #ident {
            /// Inputs per sample.
            pub const INPUTS: usize = #input;
            /// Outputs per sample.
            pub const OUTPUTS: usize = #output;
            /// Number of layers.
            pub const LAYERS: usize = #n;
            /// Trainable parameters (weights and biases).
            pub const PARAMS: usize = 0 #( + #ins * #outs + #outs )*;
            /// Bytes of the parameters: `size_of::<Self>()`, and what a model in flash occupies.
            pub const WEIGHT_BYTES: usize = Self::PARAMS * ::core::mem::size_of::<f32>();

            /// Bytes of activation buffers an inference of one sample needs: the largest pair of
            /// consecutive widths (inputs included), since at most two are live at a time.
            pub const INFERENCE_BYTES: usize =
                ::constnet::largest_adjacent_sum(&[#input #(, #outs)*]) * ::core::mem::size_of::<f32>();

            /// Bytes a training step on batches of `batch` samples works with: weights, gradients,
            /// the optimizer state of `O`, the input batch, and every layer's outputs and deltas.
            pub const fn training_bytes<O: ::constnet::Optimizer<Self>>(batch: usize) -> usize {
                2 * Self::WEIGHT_BYTES
                    + ::core::mem::size_of::<O::State>()
                    + batch * (#input + 2 * (0 #( + #outs)*)) * ::core::mem::size_of::<f32>()
            }

            /// The network from little-endian `f32` bytes in the layout of
            /// `Parameters::to_le_bytes`: layer by layer, each layer's weights row by row (one row per
            /// output), then its biases. A `const fn`, so that
            /// `static NET: Net = Net::from_le_bytes(include_bytes!("net.bin"));` decodes the weights
            /// at compile time into flash; a file of the wrong length does not compile.
            #[allow(unused_assignments)] // the offset after the last layer
            pub const fn from_le_bytes(bytes: &[u8; Self::WEIGHT_BYTES]) -> Self {
                // A running offset keeps the expansion linear in the number of layers.
                let mut __at = 0;
                Self {
                    #(
                        #names: {
                            let __layer = <#types>::from_le_bytes_at(bytes, __at);
                            __at += <#types>::PARAMS * ::core::mem::size_of::<f32>();
                            __layer
                        },
                    )*
                }
            }

            /// A network with weights drawn from `seed` (He for ReLU-like layers, Glorot
            /// otherwise) and zero biases. Equal seeds give equal networks.
            pub fn new(seed: u64) -> Self {
                let mut net = <Self as ::constnet::Parameters>::zeroed();
                ::constnet::Network::init(&mut net, seed);
                net
            }

            /// Runs one sample through the network.
            #[inline]
            pub fn forward(&self, input: &[f32; #input]) -> [f32; #output] {
                ::constnet::Network::forward(self, input)
            }

            /// The index of the largest output (the predicted class) for one sample.
            #[inline]
            pub fn predict(&self, input: &[f32; #input]) -> usize {
                ::constnet::Network::predict(self, input)
            }

            /// The Keras-like table of layers and parameter counts.
            pub fn summary() -> ::constnet::Summary<'static> {
                <Self as ::constnet::Network<#input, #output>>::summary()
            }
        }

        impl ::constnet::Network<#input, #output> for #ident {
            const LAYERS: usize = #n;

            fn init(&mut self, seed: u64) {
                let mut rng = ::constnet::Rng::new(seed);
                #( self.#names.init(&mut rng); )*
            }

            #forward_batch

            fn summary() -> ::constnet::Summary<'static> {
                const LAYERS: &[::constnet::LayerInfo] = &[
                    #(
                        ::constnet::LayerInfo {
                            name: #name_strs,
                            kind: #kinds,
                            activation: <#acts as ::constnet::Activation>::NAME,
                            inputs: #ins,
                            outputs: #outs,
                            params: #ins * #outs + #outs,
                        },
                    )*
                ];
                ::constnet::Summary { name: #net_name, layers: LAYERS }
            }
        }

        impl<const B: usize> ::constnet::Train<#input, #output, B> for #ident
        where
            #( #types: ::constnet::Backprop<#ins, #outs, B>, )*
        {
            #gradient
        }
    }
}

/// Buffer name for the outputs of layer `i`.
fn act_buf(i: usize) -> syn::Ident {
    format_ident!("__a{}", i)
}

/// Buffer name for `dL/dy` of layer `i`.
fn delta_buf(i: usize) -> syn::Ident {
    format_ident!("__d{}", i)
}

/// The same identifier (same hygiene: both are call-site) pointing at `span` in diagnostics.
fn spanned(mut ident: syn::Ident, span: Span) -> syn::Ident {
    ident.set_span(span);
    ident
}

/// Span of a layer's input width: type errors of the hand-off into this layer point there.
fn in_span(layer: &Layer) -> Span {
    layer.inputs().span()
}

/// The input of layer `i`: `__x` for the first layer, else `&__a{i-1}`, spanned on the layer's input
/// width so that a type error of the hand-off points at the offending layer.
fn layer_input(layers: &[Layer], i: usize) -> TokenStream {
    if i == 0 {
        return quote!(__x);
    }
    let span = in_span(&layers[i]);
    let prev = spanned(act_buf(i - 1), span);
    quote_spanned!(span=> &#prev)
}

/// Training's forward pass: every layer's output stays alive in `__a{i}` for the backward pass; the
/// last layer writes into `__out`.
fn forward_keep(layers: &[Layer]) -> TokenStream {
    let last = layers.len() - 1;
    let mut body = TokenStream::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = &layer.name;
        let input = layer_input(layers, i);
        if i == last {
            body.extend(quote! { self.#name.forward(#input, __out); });
        } else {
            let (a, out) = (act_buf(i), width(layer.outputs()));
            body.extend(quote! {
                let mut #a = [[0.0f32; #out]; B];
                self.#name.forward(#input, &mut #a);
            });
        }
    }
    body
}

/// Inference: layer `i`'s output `__a{i}` lives in a block that ends once layer `i + 1` has read it,
/// so at most two activation buffers are live at a time (what `INFERENCE_BYTES` counts). The last
/// layer writes into `__y`.
fn forward_scoped(layers: &[Layer]) -> TokenStream {
    let last = layers.len() - 1;
    // An expression evaluating to the previous layer's output buffer, by value.
    let mut prev = TokenStream::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = &layer.name;
        let input = layer_input(layers, i);
        let bind = if i == 0 {
            TokenStream::new()
        } else {
            let a = spanned(act_buf(i - 1), in_span(layer));
            quote!(let #a = #prev;)
        };
        if i == last {
            return quote! {{ #bind self.#name.forward(#input, __y); }};
        }
        let (a, out) = (act_buf(i), width(layer.outputs()));
        prev = quote! {{
            #bind
            let mut #a = [[0.0f32; #out]; B];
            self.#name.forward(#input, &mut #a);
            #a
        }};
    }
    unreachable!("a validated network has at least one layer")
}

fn forward_batch(layers: &[Layer]) -> TokenStream {
    let input = width(layers[0].inputs());
    let output = width(layers[layers.len() - 1].outputs());
    let body = forward_scoped(layers);
    quote! {
        #[inline]
        fn forward_batch<const B: usize>(&self, __x: &[[f32; #input]; B], __y: &mut [[f32; #output]; B]) {
            #body
        }
    }
}

fn gradient(layers: &[Layer], types: &[TokenStream]) -> TokenStream {
    let n = layers.len();
    let input = width(layers[0].inputs());
    let output = width(layers[n - 1].outputs());
    let forward = forward_keep(layers);
    let last = n - 1;
    let (d_last, ty_last) = (delta_buf(last), &types[last]);
    let (in_last, out_last) = (width(layers[last].inputs()), width(layers[last].outputs()));
    let mut backward = quote! {
        let mut #d_last = [[0.0f32; #output]; B];
        let __loss = <#ty_last as ::constnet::Backprop<#in_last, #out_last, B>>::output_delta::<__L>(
            __out, __target, &mut #d_last,
        );
    };
    for i in (0..n).rev() {
        let layer = &layers[i];
        let (name, ty) = (&layer.name, &types[i]);
        let (inp, out) = (width(layer.inputs()), width(layer.outputs()));
        let d = delta_buf(i);
        let bp = quote!(<#ty as ::constnet::Backprop<#inp, #out, B>>);
        if i != last {
            // `__d{i}` holds dL/dy from the layer above; make it dL/dz.
            let a = act_buf(i);
            backward.extend(quote! { #bp::activation_backward(&#a, &mut #d); });
        }
        let input = layer_input(layers, i);
        if i == 0 {
            backward.extend(
                quote! { #bp::backward(&self.#name, #input, &#d, &mut __grads.#name, None); },
            );
        } else {
            // dL/dx of this layer is dL/dy of the one before: the second hand-off between them.
            let span = in_span(layer);
            let prev_d = spanned(delta_buf(i - 1), span);
            let prev_out = width(layers[i - 1].outputs());
            let hand_back = quote_spanned!(span=> ::core::option::Option::Some(&mut #prev_d));
            backward.extend(quote! {
                let mut #prev_d = [[0.0f32; #prev_out]; B];
                #bp::backward(&self.#name, #input, &#d, &mut __grads.#name, #hand_back);
            });
        }
    }
    quote! {
        fn backprop<__L: ::constnet::Loss<#output>>(
            &self,
            __x: &[[f32; #input]; B],
            __target: &[__L::Target; B],
            __out: &mut [[f32; #output]; B],
            __grads: &mut Self,
        ) -> f32 {
            #forward
            #backward
            __loss
        }
    }
}

/// Const assertions for what the macro cannot compare itself: widths given by name.
fn chain_assertions(net: &Net) -> TokenStream {
    let mut out = TokenStream::new();
    for layer in &net.layers {
        for (arg, which) in [(layer.inputs(), "input"), (layer.outputs(), "output")] {
            if matches!(arg, Arg::Int(_)) {
                continue;
            }
            let w = width(arg);
            let msg = format!(
                "network `{}`: {} has {which} width `{}` = 0; widths must be at least 1",
                net.ident,
                layer.describe(),
                w
            );
            out.extend(quote_spanned!(arg.span()=>
                const _: () = ::core::assert!(#w > 0, #msg);
            ));
        }
    }
    for pair in net.layers.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        if matches!((prev.outputs(), next.inputs()), (Arg::Int(_), Arg::Int(_))) {
            continue; // compared by the macro
        }
        let (o, i) = (width(prev.outputs()), width(next.inputs()));
        let msg = format!(
            "network `{}`: {} takes `{}` inputs, which must equal the `{}` outputs of {} before it",
            net.ident,
            next.describe(),
            i,
            o,
            prev.describe()
        );
        out.extend(quote_spanned!(next.inputs().span()=>
            const _: () = ::core::assert!(#o == #i, #msg);
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use proc_macro2::{TokenStream, TokenTree};

    use super::expand;
    use crate::ast::Input;

    /// Every token of the expansion, inside groups too.
    fn tokens(src: &str) -> usize {
        fn count(ts: TokenStream) -> usize {
            ts.into_iter()
                .map(|tt| match tt {
                    TokenTree::Group(g) => 2 + count(g.stream()),
                    _ => 1,
                })
                .sum()
        }
        let input: Input = syn::parse_str(src).expect("valid input");
        count(expand(&input))
    }

    fn layers(n: usize, width: usize) -> String {
        let body: Vec<String> = (0..n)
            .map(|_| format!("Dense<{width}, {width}, Relu>"))
            .collect();
        format!("pub struct Net {{ {} }}", body.join(", "))
    }

    /// The expansion is unrolled over layers, never over elements: its size does not depend on the
    /// widths, and grows linearly with the number of layers.
    #[test]
    fn expansion_size_is_independent_of_widths() {
        assert_eq!(tokens(&layers(10, 2)), tokens(&layers(10, 4096)));
        let (one, two, ten) = (
            tokens(&layers(1, 8)),
            tokens(&layers(2, 8)),
            tokens(&layers(10, 8)),
        );
        let per_layer = two - one;
        assert!(per_layer > 0);
        // Linear up to the bookkeeping of the first and last layers (about one layer's worth).
        let linear = one + 9 * per_layer;
        assert!(
            ten.abs_diff(linear) < per_layer,
            "not linear in the layers: {one} {two} {ten}"
        );
        println!("expansion: {one} tokens for 1 layer, {per_layer} more per layer, {ten} for 10");
    }
}
