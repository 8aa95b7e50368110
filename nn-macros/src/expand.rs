//! Code generation only: every check happened in `valid.rs` and `lower.rs`; this file emits the
//! plan. Generated local names are hygienic (`Span::mixed_site`), and the generic batch parameter
//! is `__B`, so nothing here captures or shadows a name the user writes in a width.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::ast::{Arg, Input, Net};
use crate::lower::{Dim, Plan, Planned, Shape};
use crate::valid::{self, Param};

pub fn expand(input: &Input) -> TokenStream {
    let mut out = TokenStream::new();
    if let Err(err) = input.validate() {
        out.extend(err.to_compile_error());
    }
    let mut seen = std::collections::HashSet::new();
    for net in &input.nets {
        if !seen.insert(net.ident.to_string()) {
            continue; // reported above; the first one is emitted
        }
        match net.validate().and_then(|()| net.lower()) {
            Ok(plan) => out.extend(expand_net(&plan)),
            Err(err) => {
                // One mistake, one diagnostic: the struct still exists, so code using it does not
                // add "cannot find type" errors of its own.
                out.extend(err.to_compile_error());
                out.extend(fallback(net));
            }
        }
    }
    out
}

/// A hygienic local name, reported at `at`.
fn local(name: &str, at: Span) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site().located_at(at))
}

/// Field names in the batch buffers: outputs, their gradients, layer scratch.
fn buf_fields(i: usize) -> (syn::Ident, syn::Ident, syn::Ident) {
    (
        format_ident!("a{}", i),
        format_ident!("d{}", i),
        format_ident!("s{}", i),
    )
}

/// A message for `assert!` in const evaluation: braces in it are not format arguments.
fn assert_message(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// `a + b + c` without a leading `0 +` (which clippy's `identity_op` would flag in user crates).
fn sum(terms: Vec<TokenStream>) -> TokenStream {
    let mut terms = terms.into_iter();
    let first = terms.next().unwrap_or_else(|| quote!(0));
    quote!(#first #( + #terms )*)
}

fn expand_net(plan: &Plan) -> TokenStream {
    let net = plan.net;
    let Net {
        attrs, vis, ident, ..
    } = net;
    let layers = &plan.layers;
    let n = layers.len();
    let names: Vec<_> = layers.iter().map(|l| &l.layer.name).collect();
    let types: Vec<_> = layers.iter().map(|l| &l.ty).collect();
    let docs: Vec<Vec<_>> = layers
        .iter()
        .map(|l| l.layer.attrs.iter().collect())
        .collect();
    let default_docs = layers.iter().map(|l| {
        if l.layer.attrs.is_empty() {
            let text = format!(
                "Layer {} of the network: `{}`, output {}.",
                l.layer.index,
                l.layer.kind,
                l.output.describe()
            );
            quote!(#[doc = #text])
        } else {
            TokenStream::new()
        }
    });
    // Generic arguments, and array lengths / const values (rendered apart for the lints).
    let (input, output) = (plan.inputs.arg(), plan.outputs.arg());
    let (in_n, out_n) = (plan.inputs.expr(), plan.outputs.expr());
    let name_strs = names.iter().map(|n| n.to_string());
    let net_name = ident.to_string();
    let params = sum(types
        .iter()
        .map(|t| quote!(<#t as ::constnet::layer::Layer>::PARAMS))
        .collect());

    let (fold_prev, fold_bn): (Vec<_>, Vec<_>) = layers
        .windows(2)
        .filter(|w| w[0].linear && w[1].layer.kind == "BatchNorm")
        .map(|w| (&w[0].layer.name, &w[1].layer.name))
        .unzip();
    let handoff_len = handoff_len(plan);
    let handoff_buffers = (n - 1).min(2);
    let layer_bytes = sum(types
        .iter()
        .map(|t| quote!(::core::mem::size_of::<#t>()))
        .collect());
    let values = sum(types
        .iter()
        .map(|t| quote!(<#t as ::constnet::Parameters>::LEN))
        .collect());
    let inits = layers.iter().map(init_layer);
    let forward_batch = forward_batch(plan);
    let train = train(plan);
    let checks = assertions(plan);
    let twin = match crate::twin::supported(plan) {
        Some(qtypes) => crate::twin::twin(plan, &qtypes),
        None => TokenStream::new(),
    };

    quote! {
        #(#attrs)*
        // Aligned to a cache line, so that the weights' address modulo 64, and with it the cost
        // of every vector load, does not depend on where the network lands.
        #[repr(C, align(64))]
        #vis struct #ident {
            #(
                #(#docs)*
                #default_docs
                #vis #names: #types,
            )*
        }

        #checks

        // SAFETY: `#[repr(C)]` struct of layers, each a padding-free block of f32 values
        // (`Layer: Parameters`) with f32 alignment, so they follow one another without gaps and
        // their `LEN` values are the struct's first; only the trailing padding up to the 64-byte
        // alignment follows (the assertion below), which `LEN` leaves out. All-zero bytes are
        // valid for every layer, hence for the struct.
        unsafe impl ::constnet::Parameters for #ident {
            const LEN: usize = #values;
        }

        const _: () = ::core::assert!(
            ::core::mem::size_of::<#ident>() == (#layer_bytes).next_multiple_of(64),
            "a network is exactly its layers' values, rounded up to whole 64-byte lines"
        );

        #[allow(dead_code)]
        impl #ident {
            /// Inputs per sample.
            pub const INPUTS: usize = #in_n;
            /// Outputs per sample.
            pub const OUTPUTS: usize = #out_n;
            /// Number of layers.
            pub const LAYERS: usize = #n;
            /// Trainable parameters (weights and biases; not batch norm's running statistics).
            pub const PARAMS: usize = #params;
            /// Bytes of the network's values (trainable parameters and state such as running
            /// statistics), as `to_le_bytes` writes them. The struct (what a model in flash
            /// occupies) is this rounded up to whole 64-byte lines: `size_of::<Self>()` is at most
            /// 60 bytes more.
            pub const WEIGHT_BYTES: usize = #layer_bytes;

            /// Bytes of activation buffers an inference of one sample keeps on the stack: two
            /// buffers of the largest output of any layer but the last (one for two layers, none for
            /// one), in which activations pass from layer to layer. The input and the output are
            /// the caller's; a layer's own working memory (a convolution's patch buffer) comes on top.
            pub const INFERENCE_BYTES: usize = #handoff_buffers * #handoff_len * ::core::mem::size_of::<f32>();

            /// Bytes a training step on batches of `B` samples works with: weights, gradients,
            /// the optimizer state of `O`, the input batch, and the batch buffers (every layer's
            /// outputs and their gradients, dropout masks, batch statistics).
            pub const fn training_bytes<O: ::constnet::Optimizer<Self>, const __B: usize>() -> usize
            where
                Self: ::constnet::TrainBuffers<__B>,
            {
                2 * ::core::mem::size_of::<Self>()
                    + ::core::mem::size_of::<O::State>()
                    + ::core::mem::size_of::<<Self as ::constnet::TrainBuffers<__B>>::Buffers>()
                    + __B * Self::INPUTS * ::core::mem::size_of::<f32>()
            }

            /// The network from little-endian `f32` bytes in the layout of
            /// `Parameters::to_le_bytes`: layer by layer, each layer's tensors in order (a
            /// `Dense`'s weights row by row, one row per output, then its biases). A `const fn`, so
            /// that `static NET: Net = Net::from_le_bytes(include_bytes!("net.bin"));` decodes the
            /// weights at compile time into flash; a file of the wrong length does not compile.
            pub const fn from_le_bytes(bytes: &[u8; Self::WEIGHT_BYTES]) -> Self {
                ::constnet::params_from_le_bytes(bytes, 0)
            }

            /// A network with weights drawn from `seed` (Glorot uniform, as Keras, or He uniform for
            /// layers declared with `init = He`) and zero biases. Equal seeds give equal networks.
            ///
            /// Returned by value, so it passes through the stack: for networks of more than a few
            /// megabytes use `Network::new_boxed` (built in place on the heap).
            pub fn new(seed: u64) -> Self {
                let mut net = <Self as ::constnet::Zeroed>::zeroed();
                ::constnet::Network::init(&mut net, seed);
                net
            }

            /// For inference: folds every batch norm that directly follows a layer without
            /// activation (a `Dense`, `Conv2d`, `Conv1d` or `DepthwiseConv2d` written without one)
            /// into that layer's weights and biases, and resets the batch norm to the identity, which
            /// its inference pass then skips. Outputs stay the same up to rounding. Batch norms after
            /// an activation are left as they are. Train no further after folding.
            pub fn fold_batch_norm(&mut self) {
                #( ::constnet::layer::FoldBatchNorm::fold_into(&mut self.#fold_bn, &mut self.#fold_prev); )*
            }

            /// Runs one sample through the network.
            #[inline]
            pub fn forward(&self, input: &[f32; #in_n]) -> [f32; #out_n] {
                ::constnet::Network::forward(self, input)
            }

            /// The index of the largest output (the predicted class) for one sample.
            #[inline]
            pub fn predict(&self, input: &[f32; #in_n]) -> usize {
                ::constnet::Network::predict(self, input)
            }

            /// The Keras-like table of layers, output shapes and parameter counts.
            pub fn summary() -> ::constnet::Summary<'static> {
                <Self as ::constnet::Network<#input, #output>>::summary()
            }
        }

        impl ::constnet::Network<#input, #output> for #ident {
            const LAYERS: usize = #n;
            const INFERENCE_BYTES: usize = Self::INFERENCE_BYTES;

            fn init(&mut self, seed: u64) {
                let mut __rng = ::constnet::Rng::new(seed);
                #( #inits )*
            }

            #forward_batch

            fn summary() -> ::constnet::Summary<'static> {
                const __CONSTNET_LAYERS: &[::constnet::LayerInfo] = &[
                    #( ::constnet::LayerInfo::of::<#types>(#name_strs), )*
                ];
                ::constnet::Summary { name: #net_name, layers: __CONSTNET_LAYERS }
            }
        }

        #train

        #twin
    }
}

/// Draws one layer's initial values: Keras' defaults, or the weights `init = He` asks for.
fn init_layer(layer: &Planned) -> TokenStream {
    let name = &layer.layer.name;
    match layer.layer.option("init") {
        Some(Arg::Path(init)) if init.is_ident("He") => quote! {
            ::constnet::layer::Layer::init_with(&mut self.#name, ::constnet::layer::Init::He, &mut __rng);
        },
        _ => quote!(::constnet::layer::Layer::init(&mut self.#name, &mut __rng);),
    }
}

/// The first layer's input batch: the network's flat rows, seen in the first layer's shape.
fn first_input(plan: &Plan, x: &syn::Ident) -> TokenStream {
    match &plan.input {
        Shape::Flat(_) => quote!(#x),
        shape => {
            let t = shape.tensor();
            quote!(<#t as ::constnet::layer::Tensor>::from_rows(#x))
        }
    }
}

/// Span of the place where layer `i` receives its input: type errors of the hand-off point there.
fn in_span(layer: &Planned) -> Span {
    layer
        .layer
        .args
        .first()
        .map_or(layer.layer.kind.span(), Arg::span)
}

/// The values of the largest output of any layer but the last: the length of each of the two
/// buffers inference hands activations along in.
fn handoff_len(plan: &Plan) -> TokenStream {
    let lens: Vec<Dim> = plan.layers[..plan.layers.len() - 1]
        .iter()
        .map(|l| l.output.len())
        .collect();
    match lens.iter().map(Dim::lit).collect::<Option<Vec<_>>>() {
        Some(known) => Dim::Lit(known.into_iter().max().unwrap_or(0)).expr(),
        // Nested calls rather than an array of expressions (clippy's `possible_missing_comma`
        // reads `[a - b]` in an array as a missing comma).
        None => lens
            .iter()
            .map(Dim::expr)
            .reduce(|a, b| quote!(::constnet::layer::max(#a, #b)))
            .unwrap_or_else(|| quote!(0)),
    }
}

/// Inference: activations pass between two buffers of the largest layer output, each layer reading
/// one and writing the other (the last writes into `__y`), so the stack holds two buffers whatever
/// the depth (what `INFERENCE_BYTES` counts). Each hand-off is typed by the layers' tensor types.
fn forward_pingpong(plan: &Plan) -> TokenStream {
    let layers = &plan.layers;
    let last = layers.len() - 1;
    let (x, y) = (
        local("__x", Span::call_site()),
        local("__y", Span::call_site()),
    );
    let x0 = local("__x0", Span::call_site());
    let from = first_input(plan, &x);
    let mut body = quote!(let #x0 = #from;);
    let bufs = [
        local("__ping", Span::call_site()),
        local("__pong", Span::call_site()),
    ];
    let len = handoff_len(plan);
    for buf in bufs.iter().take(last.min(2)) {
        body.extend(quote!(let mut #buf = [[0.0f32; #len]; __B];));
    }
    for (i, planned) in layers.iter().enumerate() {
        let name = &planned.layer.name;
        let input = if i == 0 {
            quote!(#x0)
        } else {
            let prev = &layers[i - 1].output.tensor();
            let buf = &bufs[(i - 1) % 2];
            quote_spanned!(in_span(planned)=>
                <#prev as ::constnet::layer::Tensor>::batch_of::<__B>(#buf.as_flattened()))
        };
        let output = if i == last {
            quote!(#y)
        } else {
            let out = planned.output.tensor();
            let buf = &bufs[i % 2];
            quote!(<#out as ::constnet::layer::Tensor>::batch_of_mut::<__B>(#buf.as_flattened_mut()))
        };
        body.extend(quote! {
            ::constnet::layer::Layer::forward(&self.#name, #input, #output);
        });
    }
    body
}

fn forward_batch(plan: &Plan) -> TokenStream {
    let (input, output) = (plan.inputs.expr(), plan.outputs.expr());
    let (x, y) = (
        local("__x", Span::call_site()),
        local("__y", Span::call_site()),
    );
    let body = forward_pingpong(plan);
    quote! {
        #[inline]
        fn forward_batch<const __B: usize>(&self, #x: &[[f32; #input]; __B], #y: &mut [[f32; #output]; __B]) {
            #body
        }
    }
}

/// The batch buffers, `TrainBuffers` and `Train`, inside an anonymous const so that the buffer
/// type's name cannot clash with anything of the user's.
fn train(plan: &Plan) -> TokenStream {
    let ident = &plan.net.ident;
    let layers = &plan.layers;
    let n = layers.len();
    let last = n - 1;
    let (input, output) = (plan.inputs.arg(), plan.outputs.arg());
    let (in_n, out_n) = (plan.inputs.expr(), plan.outputs.expr());
    let types: Vec<_> = layers.iter().map(|l| &l.ty).collect();
    let mut fields = TokenStream::new();
    for (i, l) in layers.iter().enumerate() {
        let (a, d, s) = buf_fields(i);
        let (t, ty) = (l.output.tensor(), &l.ty);
        fields.extend(quote! {
            pub #a: [#t; __B],
            pub #d: [#t; __B],
            pub #s: <#ty as ::constnet::layer::Backprop<__B>>::Scratch,
        });
    }
    let bounds = quote!(#( #types: ::constnet::layer::Backprop<__B>, )*);
    // Only bounds that involve `__B`: a bound without it (`Step: Differentiable`) would be checked
    // at the definition and break inference-only networks.
    let trainable = quote!(#( #types: ::constnet::layer::Backprop<__B> + ::constnet::layer::BackpropParts<__B>, )*);

    let (x, target, buf, grads, rng) = (
        local("__x", Span::call_site()),
        local("__target", Span::call_site()),
        local("__buf", Span::call_site()),
        local("__grads", Span::call_site()),
        local("__rng", Span::call_site()),
    );
    let x0 = local("__x0", Span::call_site());
    let loss = local("__loss", Span::call_site());
    let from = first_input(plan, &x);
    let mut body = quote!(let #x0 = #from;);
    for (i, l) in layers.iter().enumerate() {
        let name = &l.layer.name;
        let (a, _, s) = buf_fields(i);
        let input = if i == 0 {
            quote!(#x0)
        } else {
            let prev = buf_fields(i - 1).0;
            quote_spanned!(in_span(l)=> &#buf.#prev)
        };
        body.extend(quote! {
            ::constnet::layer::Backprop::<__B>::forward_train(
                &self.#name, #input, &mut #buf.#a, &mut #buf.#s, #rng,
            );
        });
    }
    let (a_last, d_last, _) = buf_fields(last);
    let ty_last = types[last];
    body.extend(quote! {
        let #loss = ::constnet::layer::output_delta::<
            __L, <#ty_last as ::constnet::layer::Backprop<__B>>::Derivative, #output, __B,
        >(&#buf.#a_last, #target, &mut #buf.#d_last);
    });
    for i in (0..n).rev() {
        let l = &layers[i];
        let name = &l.layer.name;
        let (a, d, s) = buf_fields(i);
        if i == 0 {
            body.extend(quote! {
                ::constnet::layer::Backprop::<__B>::backward(
                    &self.#name, #x0, &#buf.#a, &#buf.#d, &#buf.#s, &mut #grads.#name, ::core::option::Option::None,
                );
            });
        } else {
            let (pa, pd, _) = buf_fields(i - 1);
            let span = in_span(l);
            let input = quote_spanned!(span=> &#buf.#pa);
            let hand_back = quote_spanned!(span=> ::core::option::Option::Some(&mut #buf.#pd));
            let prev_ty = types[i - 1];
            body.extend(quote! {
                ::constnet::layer::Backprop::<__B>::backward(
                    &self.#name, #input, &#buf.#a, &#buf.#d, &#buf.#s, &mut #grads.#name, #hand_back,
                );
                // dL/dy of the layer before becomes its dL/dz.
                <#prev_ty as ::constnet::layer::Backprop<__B>>::activation_backward(&#buf.#pa, &mut #buf.#pd);
            });
        }
    }
    let names: Vec<_> = layers.iter().map(|l| &l.layer.name).collect();
    let scratches: Vec<_> = (0..n).map(|i| buf_fields(i).2).collect();
    let parts = train_in_parts(plan, &trainable);

    quote! {
        const _: () = {
            /// The batch buffers of a training step (see `TrainBuffers`).
            #[repr(C)]
            pub struct __Buffers<const __B: usize> where #bounds {
                #fields
            }

            // SAFETY: `#[repr(C)]` struct of batches of tensors (f32 arrays) and layer scratch
            // (`Parameters`, f32 blocks): all f32-aligned, so no padding and every byte an f32.
            unsafe impl<const __B: usize> ::constnet::Parameters for __Buffers<__B> where #bounds {}

            impl<const __B: usize> ::constnet::TrainBuffers<__B> for #ident where #bounds {
                type Buffers = __Buffers<__B>;
            }

            #parts

            impl<const __B: usize> ::constnet::Train<#input, #output, __B> for #ident where #trainable {
                fn backprop_with<__L: ::constnet::Loss<#output>>(
                    &self,
                    #x: &[[f32; #in_n]; __B],
                    #target: &[__L::Target; __B],
                    #buf: &mut __Buffers<__B>,
                    #grads: &mut Self,
                    #rng: &mut ::constnet::Rng,
                ) -> f32 {
                    // A `const` condition: a batch size that is never taken in parts (the
                    // MNIST example's 32) does not compile the parts path (its `PART`-sample
                    // kernels were a fifth of that example's LLVM IR).
                    if const {
                        ::constnet::layer::in_parts(
                            __B,
                            #in_n,
                            #ident::PARAMS,
                            true #( && <#types as ::constnet::layer::Backprop<__B>>::CONTINUES )*,
                        )
                    } {
                        return __backprop_parts::<__L, __B>(self, #x, #target, #buf, #grads, #rng);
                    }
                    #body
                    #loss
                }

                #[inline]
                fn outputs(#buf: &__Buffers<__B>) -> &[[f32; #out_n]; __B] {
                    &#buf.#a_last
                }

                #[inline]
                fn update_state(&mut self, #buf: &__Buffers<__B>) {
                    #( ::constnet::layer::Backprop::<__B>::update_state(&mut self.#names, &#buf.#scratches); )*
                }
            }
        };
    }
}

/// `__backprop_parts`: `backprop_with` for a batch taken in parts of `PART` samples, each part's
/// forward and backward pass back to back, the parameter gradients continued from part to part
/// (`Backprop::backward_continued`): the same operations in the same order as in one pass over
/// the batch, with each part's inputs still in L2 for its weight gradient.
fn train_in_parts(plan: &Plan, trainable: &TokenStream) -> TokenStream {
    let ident = &plan.net.ident;
    let layers = &plan.layers;
    let n = layers.len();
    let last = n - 1;
    let output = plan.outputs.arg();
    let (in_n, out_n) = (plan.inputs.expr(), plan.outputs.expr());
    let types: Vec<_> = layers.iter().map(|l| &l.ty).collect();
    let part = quote!({ ::constnet::layer::PART });
    let (net, x, xp, i, total, scale) = (
        local("__net", Span::call_site()),
        local("__x", Span::call_site()),
        local("__xp", Span::call_site()),
        local("__i", Span::call_site()),
        local("__total", Span::call_site()),
        local("__scale", Span::call_site()),
    );
    let x0 = local("__x0", Span::call_site());
    let from = first_input(plan, &xp);
    let scratch: Vec<_> = (0..n)
        .map(|i| local(&format!("__s{i}"), Span::call_site()))
        .collect();
    // Every part goes through the first part's hidden activations and deltas (nothing reads them
    // after the step): the loop's buffers stay one part's size in cache at any batch size. The
    // outputs go where `Train::outputs` reads them.
    let a_out = buf_fields(last).0;
    let at = |field: &syn::Ident| {
        if *field == a_out {
            quote!(#i)
        } else {
            quote!(0)
        }
    };
    let p = |field: &syn::Ident| {
        let at = at(field);
        quote!(::constnet::layer::part(&__buf.#field, #at))
    };
    let pm = |field: &syn::Ident| {
        let at = at(field);
        quote!(::constnet::layer::part_mut(&mut __buf.#field, #at))
    };
    let mut body = TokenStream::new();
    for (k, l) in layers.iter().enumerate() {
        let (name, ty, s) = (&l.layer.name, types[k], &scratch[k]);
        let (a, _, _) = buf_fields(k);
        let input = if k == 0 {
            quote!(#x0)
        } else {
            let prev = buf_fields(k - 1).0;
            let at = at(&prev);
            quote!(::constnet::layer::part_as::<<#ty as ::constnet::layer::Layer>::Input, _, __B>(&__buf.#prev, #at))
        };
        let out = pm(&a);
        body.extend(quote! {
            ::constnet::layer::BackpropParts::<__B>::forward_part(&#net.#name, #input, #out, &mut #s, __rng);
        });
    }
    let (a_last, d_last, _) = buf_fields(last);
    let ty_last = types[last];
    let (ya, dl) = (p(&a_last), pm(&d_last));
    body.extend(quote! {
        #total = ::constnet::layer::output_delta_part::<
            __L, <#ty_last as ::constnet::layer::BackpropParts<__B>>::PartDerivative, #out_n, #part,
        >(#ya, ::constnet::layer::part(__target, #i), #dl, #scale, #total);
    });
    for k in (0..n).rev() {
        let (name, s) = (&layers[k].layer.name, &scratch[k]);
        let (a, d, _) = buf_fields(k);
        let (ya, dz) = (p(&a), p(&d));
        if k == 0 {
            body.extend(quote! {
                ::constnet::layer::BackpropParts::<__B>::backward_part(
                    &#net.#name, #x0, #ya, #dz, &#s, &mut __grads.#name, ::core::option::Option::None, #i > 0,
                );
            });
        } else {
            let (pa, pd, _) = buf_fields(k - 1);
            let (ty, prev_ty) = (types[k], types[k - 1]);
            let (at_a, at_d) = (at(&pa), at(&pd));
            let xa = quote!(::constnet::layer::part_as::<<#ty as ::constnet::layer::Layer>::Input, _, __B>(&__buf.#pa, #at_a));
            let dx = quote!(::constnet::layer::part_as_mut::<<#ty as ::constnet::layer::Layer>::Input, _, __B>(&mut __buf.#pd, #at_d));
            let (xa2, dx2) = (p(&pa), pm(&pd));
            body.extend(quote! {
                ::constnet::layer::BackpropParts::<__B>::backward_part(
                    &#net.#name, #xa, #ya, #dz, &#s, &mut __grads.#name, ::core::option::Option::Some(#dx), #i > 0,
                );
                <#prev_ty as ::constnet::layer::BackpropParts<__B>>::activation_backward_part(#xa2, #dx2);
            });
        }
    }
    quote! {
        #[allow(clippy::too_many_arguments)]
        fn __backprop_parts<__L: ::constnet::Loss<#output>, const __B: usize>(
            #net: &#ident,
            #x: &[[f32; #in_n]; __B],
            __target: &[__L::Target; __B],
            __buf: &mut __Buffers<__B>,
            __grads: &mut #ident,
            __rng: &mut ::constnet::Rng,
        ) -> f32
        where
            #trainable
        {
            #( let mut #scratch = <<#types as ::constnet::layer::BackpropParts<__B>>::PartScratch as ::constnet::Zeroed>::zeroed(); )*
            let #scale = 1.0 / __B as f32;
            let mut #total = 0.0f32;
            for #i in 0..__B / #part {
                let #xp = ::constnet::layer::part(#x, #i);
                let #x0 = #from;
                #body
            }
            #total * #scale
        }
    }
}

/// Const assertions for what the macro cannot compare itself: sizes given by name.
fn assertions(plan: &Plan) -> TokenStream {
    let net = plan.net;
    let mut out = TokenStream::new();
    for l in &plan.layers {
        let layer = l.layer;
        let kind = valid::kind(&layer.kind.to_string()).expect("validated");
        let widths = kind
            .params
            .iter()
            .zip(&layer.args)
            .filter_map(|(p, a)| match p {
                Param::Width(which) => Some((a, *which)),
                Param::Percent => None,
            })
            .chain(
                layer
                    .options
                    .iter()
                    .filter(|(n, _)| n != "padding" && n != "init")
                    .map(|(_, a)| (a, "option")),
            );
        for (arg, which) in widths {
            if matches!(arg, Arg::Int(_)) {
                continue;
            }
            let w = Dim::of(arg);
            let msg = assert_message(&format!(
                "network `{}`: {} has {which} `{}` = 0; sizes must be at least 1",
                net.ident,
                layer.describe(),
                w.text()
            ));
            let w = w.operand();
            out.extend(quote_spanned!(arg.span()=>
                const _: () = ::core::assert!(#w > 0, #msg);
            ));
        }
        if let Some(check) = &l.check {
            // `H == H` is true by construction, and clippy's `eq_op` would flag it in user crates.
            if check.declared.text() == check.arriving.text() {
                continue;
            }
            let (d, a) = (check.declared.operand(), check.arriving.operand());
            let msg = assert_message(&check.message);
            out.extend(quote_spanned!(check.span=>
                const _: () = ::core::assert!(#a == #d, #msg);
            ));
        }
    }
    out
}

/// After an error: the struct with the network's interface where its widths are known (stub
/// bodies; the build fails anyway), so that code using it adds no errors of its own.
fn fallback(net: &Net) -> TokenStream {
    let Net { vis, ident, .. } = net;
    let attrs = net
        .attrs
        .iter()
        .filter(|a| !(a.path().is_ident("repr") || a.path().is_ident("cfg_attr")));
    let lit = |arg: Option<&Arg>| match arg {
        Some(Arg::Int(l)) => l.base10_parse::<usize>().ok().filter(|n| *n > 0),
        _ => None,
    };
    let inputs = match &net.input {
        Some(shape) => shape
            .dims
            .iter()
            .map(|d| lit(Some(d)))
            .try_fold(1usize, |acc, d| d.map(|d| acc * d)),
        None => net
            .layers
            .first()
            .filter(|l| l.kind == "Dense" || l.kind == "Normalization")
            .and_then(|l| lit(l.args.first())),
    };
    let outputs = net
        .layers
        .last()
        .filter(|l| l.kind == "Dense")
        .and_then(|l| lit(l.args.get(1)));
    let strukt = quote! {
        #(#attrs)*
        #vis struct #ident {}
    };
    let (Some(i), Some(o)) = (inputs, outputs) else {
        return strukt;
    };
    let (i, o) = (
        proc_macro2::Literal::usize_unsuffixed(i),
        proc_macro2::Literal::usize_unsuffixed(o),
    );
    let net_name = ident.to_string();
    quote! {
        #strukt
        // SAFETY: a struct without fields has no bytes.
        unsafe impl ::constnet::Parameters for #ident {}
        #[allow(dead_code)]
        impl #ident {
            pub const INPUTS: usize = #i;
            pub const OUTPUTS: usize = #o;
            pub fn new(_: u64) -> Self { #ident {} }
            pub fn forward(&self, _: &[f32; #i]) -> [f32; #o] { [0.0; #o] }
            pub fn predict(&self, _: &[f32; #i]) -> usize { 0 }
            pub fn summary() -> ::constnet::Summary<'static> {
                ::constnet::Summary { name: #net_name, layers: &[] }
            }
        }
        impl ::constnet::Network<#i, #o> for #ident {
            const LAYERS: usize = 0;
            const INFERENCE_BYTES: usize = 0;
            fn init(&mut self, _: u64) {}
            fn forward_batch<const __B: usize>(&self, _: &[[f32; #i]; __B], _: &mut [[f32; #o]; __B]) {}
            fn summary() -> ::constnet::Summary<'static> {
                ::constnet::Summary { name: #net_name, layers: &[] }
            }
        }
    }
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
