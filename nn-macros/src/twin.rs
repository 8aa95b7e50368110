//! The int8 twin of a network (`struct Mnist` → `MnistInt8`), generated where every layer has an
//! int8 form in nn-core (`quant::QLayer`): Dense, Conv2d, DepthwiseConv2d, MaxPool2d, AvgPool2d,
//! Flatten (of a 2-D input) and Dropout (the identity at inference). Emission only, like `expand.rs`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use crate::lower::{stride_padding, Dim, Plan, Planned, Shape};

/// The int8 layer type of `layer`, whose input has shape `input`; `None` if it has none.
fn qtype(layer: &Planned, input: &Shape) -> Option<TokenStream> {
    let l = layer.layer;
    let q = |name: &str| {
        let ident = syn::Ident::new(name, Span::call_site());
        quote!(::constnet::quant::#ident)
    };
    match (l.kind.to_string().as_str(), input, &layer.output) {
        ("Dense", Shape::Flat(i), Shape::Flat(o)) => {
            let (t, i, o) = (q("QDense"), i.arg(), o.arg());
            Some(quote!(#t<#i, #o>))
        }
        ("Conv2d", Shape::D2(c, h, w), Shape::D2(f, oh, ow)) => {
            let k = Dim::of(l.args.get(1)?);
            let (s, same) = stride_padding(l);
            let n = c.mul(&k).mul(&k);
            let t = q("QConv2d");
            let (c, h, w, f, k, s, oh, ow, n) = (
                c.arg(),
                h.arg(),
                w.arg(),
                f.arg(),
                k.arg(),
                s.arg(),
                oh.arg(),
                ow.arg(),
                n.arg(),
            );
            Some(quote!(#t<#c, #h, #w, #f, #k, #s, #same, #oh, #ow, #n>))
        }
        ("DepthwiseConv2d", Shape::D2(c, h, w), Shape::D2(_, oh, ow)) => {
            let k = Dim::of(l.args.first()?);
            let (s, same) = stride_padding(l);
            let n = k.mul(&k);
            let t = q("QDepthwiseConv2d");
            let (c, h, w, k, s, oh, ow, n) = (
                c.arg(),
                h.arg(),
                w.arg(),
                k.arg(),
                s.arg(),
                oh.arg(),
                ow.arg(),
                n.arg(),
            );
            Some(quote!(#t<#c, #h, #w, #k, #s, #same, #oh, #ow, #n>))
        }
        (kind @ ("MaxPool2d" | "AvgPool2d"), Shape::D2(c, h, w), Shape::D2(_, oh, ow)) => {
            let p = Dim::of(l.args.first()?);
            let t = q(&format!("Q{kind}"));
            let (c, h, w, p, oh, ow) = (c.arg(), h.arg(), w.arg(), p.arg(), oh.arg(), ow.arg());
            Some(quote!(#t<#c, #h, #w, #p, #oh, #ow>))
        }
        ("Flatten", Shape::D2(c, h, w), Shape::Flat(n)) => {
            let t = q("QFlatten2d");
            let (c, h, w, n) = (c.arg(), h.arg(), w.arg(), n.arg());
            Some(quote!(#t<#c, #h, #w, #n>))
        }
        ("Dropout", shape, _) => {
            let (t, ty) = (q("QIdentity"), int8_tensor(shape));
            Some(quote!(#t<#ty>))
        }
        _ => None,
    }
}

/// The int8 tensor type of one sample of `shape`.
fn int8_tensor(shape: &Shape) -> TokenStream {
    match shape {
        Shape::Flat(n) => {
            let n = n.expr();
            quote!([i8; #n])
        }
        Shape::D1(c, l) => {
            let (c, l) = (c.expr(), l.expr());
            quote!([[i8; #l]; #c])
        }
        Shape::D2(c, h, w) => {
            let (c, h, w) = (c.expr(), h.expr(), w.expr());
            quote!([[[i8; #w]; #h]; #c])
        }
    }
}

/// A zero value of `shape` with elements `zero` (`0.0f32`, `0i8`).
fn zeros(shape: &Shape, zero: TokenStream) -> TokenStream {
    match shape {
        Shape::Flat(n) => {
            let n = n.expr();
            quote!([#zero; #n])
        }
        Shape::D1(c, l) => {
            let (c, l) = (c.expr(), l.expr());
            quote!([[#zero; #l]; #c])
        }
        Shape::D2(c, h, w) => {
            let (c, h, w) = (c.expr(), h.expr(), w.expr());
            quote!([[[#zero; #w]; #h]; #c])
        }
    }
}

/// `expr` (a place of `shape`) as a flat slice.
fn flat(expr: TokenStream, shape: &Shape, mutable: bool) -> TokenStream {
    let depth = match shape {
        Shape::Flat(_) => 0,
        Shape::D1(..) => 1,
        Shape::D2(..) => 2,
    };
    let mut out = expr;
    for _ in 0..depth {
        out = if mutable {
            quote!(#out.as_flattened_mut())
        } else {
            quote!(#out.as_flattened())
        };
    }
    out
}

/// The int8 types of `plan`'s layers, if every layer has one and every width was compared by
/// the macro. Widths it leaves to a const assertion (named consts that differ in spelling) get
/// no twin: were they wrong, the twin's hand-offs would repeat the assertion's one error as
/// type errors.
pub fn supported(plan: &Plan) -> Option<Vec<TokenStream>> {
    let mut input = &plan.input;
    let mut out = Vec::new();
    for l in &plan.layers {
        if l.check.is_some() {
            return None;
        }
        out.push(qtype(l, input)?);
        input = &l.output;
    }
    Some(out)
}

fn local(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

pub fn twin(plan: &Plan, qtypes: &[TokenStream]) -> TokenStream {
    let net = plan.net;
    let (vis, ident) = (&net.vis, &net.ident);
    let twin = format_ident!("{}Int8", ident);
    let layers = &plan.layers;
    let n = layers.len();
    let last = n - 1;
    let names: Vec<_> = layers.iter().map(|l| &l.layer.name).collect();
    let name_strs: Vec<_> = names.iter().map(|n| n.to_string()).collect();
    let types: Vec<_> = layers.iter().map(|l| &l.ty).collect();
    let (in_n, out_n) = (plan.inputs.expr(), plan.outputs.expr());
    let lasts: Vec<bool> = (0..n).map(|i| i == last).collect();
    let acts: Vec<TokenStream> = types
        .iter()
        .map(|t| quote!(<#t as ::constnet::layer::Layer>::Activation))
        .collect();
    let twin_doc = format!(
        "The int8 twin of [`{ident}`], made by [`{ident}::quantize`]: TensorFlow Lite's int8 scheme \
         (weights per output channel, activations per tensor, integer arithmetic only; the last \
         layer's activation, if it cannot be fused, applied in float to its dequantised output)."
    );
    let quantize_doc = format!(
        "Post-training int8 quantisation: runs `calibration` (a few hundred typical inputs) \
         through the network to record every layer's output range, then returns the [`{twin}`] \
         with TFLite's parameters. An error if `calibration` is empty or not finite, or a hidden \
         layer's activation has no int8 form (ReLU and the identity have one)."
    );
    let qlayer = quote!(::constnet::quant::QLayer);

    // Calibration: one sample at a time through the float layers, each widening its output's range.
    let ranges: Vec<_> = (0..n).map(|i| local(&format!("__range{i}"))).collect();
    let bufs: Vec<_> = (0..n).map(|i| local(&format!("__a{i}"))).collect();
    let params: Vec<_> = (0..n).map(|i| local(&format!("__p{i}"))).collect();
    let (x, x0, cal, input_range, input_params) = (
        local("__x"),
        local("__x0"),
        local("__calibration"),
        local("__range_in"),
        local("__p_in"),
    );
    let zero_in = zeros(&plan.input, quote!(0.0f32));
    let flat_x0 = flat(quote!(#x0), &plan.input, true);
    let mut observe = quote! {
        let mut #x0 = #zero_in;
        #flat_x0.copy_from_slice(#x);
    };
    let mut layer_params = TokenStream::new();
    for i in 0..n {
        let (name, ty, a, r, is_last) = (names[i], types[i], &bufs[i], &ranges[i], lasts[i]);
        let zero = zeros(&layers[i].output, quote!(0.0f32));
        let input = if i == 0 {
            quote!(&#x0)
        } else {
            let prev = &bufs[i - 1];
            quote!(&#prev)
        };
        observe.extend(quote! {
            let mut #a = #zero;
            ::constnet::quant::Quantize::observe(&self.#name, #input, &mut #a, &mut #r, #is_last);
        });
        let prev = if i == 0 {
            quote!(#input_params)
        } else {
            let p = &params[i - 1];
            quote!(#p)
        };
        let p = &params[i];
        layer_params.extend(quote! {
            let #p = if <#ty as ::constnet::quant::Quantize>::PASSES { #prev } else { #r.params() };
        });
    }
    let layer_inputs: Vec<TokenStream> = (0..n)
        .map(|i| {
            if i == 0 {
                quote!(#input_params)
            } else {
                let p = &params[i - 1];
                quote!(#p)
            }
        })
        .collect();

    // Decoding: the input's parameters, then each layer, whose input is the previous one's output.
    let (bytes, at) = (local("__bytes"), local("__at"));
    let fused = local("__fused");
    let mut decode = quote! {
        if #bytes.len() != Self::WEIGHT_BYTES {
            return ::core::result::Result::Err(::constnet::quant::QuantError::Length);
        }
        let #input_params = ::constnet::quant::QuantParams {
            scale: f32::from_le_bytes([#bytes[0], #bytes[1], #bytes[2], #bytes[3]]),
            zero_point: i32::from_le_bytes([#bytes[4], #bytes[5], #bytes[6], #bytes[7]]),
        };
        let mut #at = 8;
    };
    for i in 0..n {
        let (name, q, act, is_last) = (names[i], &qtypes[i], &acts[i], lasts[i]);
        let input = if i == 0 {
            quote!(#input_params)
        } else {
            let prev_p = &params[i - 1];
            quote!(#prev_p)
        };
        let p = &params[i];
        decode.extend(quote! {
            let #fused = match ::constnet::quant::fused_for(
                <#act as ::constnet::activation::Activation>::OP,
                <#act as ::constnet::activation::Activation>::NAME,
                #is_last,
            ) {
                ::core::result::Result::Ok(f) => f,
                ::core::result::Result::Err(e) => return ::core::result::Result::Err(e),
            };
            let #name = match <#q>::read_le(#bytes, #at, #input, #fused) {
                ::core::result::Result::Ok(l) => l,
                ::core::result::Result::Err(e) => return ::core::result::Result::Err(e),
            };
            let #p = #name.output();
            #at += <#q as #qlayer>::WEIGHT_BYTES;
        });
    }

    // Inference: int8 buffers handed from layer to layer.
    let (xq, yq) = (local("__xq"), local("__yq"));
    let xs = local("__xs");
    let zero_in_i8 = zeros(&plan.input, quote!(0i8));
    let flat_shaped = flat(quote!(shaped), &plan.input, true);
    // A flat input is already the first layer's: no copy (at batch 128 of the MNIST MLP,
    // zeroing and filling the 100 KB copy took 3 % of the int8 forward pass).
    let flat_input = matches!(plan.input, Shape::Flat(_));
    let mut int_forward = if flat_input {
        quote!()
    } else {
        quote! {
            let mut #xs = [#zero_in_i8; __B];
            for (shaped, flat) in #xs.iter_mut().zip(#xq) {
                #flat_shaped.copy_from_slice(flat);
            }
        }
    };
    for i in 0..n {
        let name = names[i];
        let input = if i == 0 {
            if flat_input {
                quote!(#xq)
            } else {
                quote!(&#xs)
            }
        } else {
            let prev = &bufs[i - 1];
            quote!(&#prev)
        };
        let a = &bufs[i];
        if i == last {
            int_forward.extend(quote!(#qlayer::forward_batch(&self.#name, #input, #yq);));
        } else {
            let zero = zeros(&layers[i].output, quote!(0i8));
            int_forward.extend(quote! {
                let mut #a = [#zero; __B];
                #qlayer::forward_batch(&self.#name, #input, &mut #a);
            });
        }
    }
    let name_last = names[last];
    let act_last = &acts[last];
    let first = names[0];
    let weight_bytes = quote!(8 #( + <#qtypes as #qlayer>::WEIGHT_BYTES )*);
    let f32_bytes = quote!(<#ident>::WEIGHT_BYTES);

    quote! {
        #[doc = #twin_doc]
        ///
        /// Its weights are int8 and its biases int32: `WEIGHT_BYTES` is about a quarter of the
        /// float network's. `from_le_bytes` is a `const fn`, so a quantised network can live in a
        /// `static` in flash.
        #[repr(C, align(64))]
        #[derive(Clone, PartialEq, Debug)]
        #vis struct #twin {
            #(
                #[doc = concat!("The int8 form of layer `", #name_strs, "`.")]
                #vis #names: #qtypes,
            )*
        }

        #[allow(dead_code)]
        impl #ident {
            #[doc = #quantize_doc]
            pub fn quantize(
                &self,
                #cal: &[[f32; #in_n]],
            ) -> ::core::result::Result<#twin, ::constnet::quant::QuantError> {
                if #cal.is_empty() {
                    return ::core::result::Result::Err(::constnet::quant::QuantError::NoCalibration);
                }
                let mut #input_range = ::constnet::quant::MinMax::new();
                #( let mut #ranges = ::constnet::quant::MinMax::new(); )*
                for #x in #cal {
                    if !#x.iter().all(|v| v.is_finite()) {
                        return ::core::result::Result::Err(::constnet::quant::QuantError::NonFinite);
                    }
                    #input_range.observe(#x);
                    #observe
                }
                let #input_params = #input_range.params();
                #layer_params
                ::core::result::Result::Ok(#twin {
                    #(
                        #names: <#qtypes>::from_float(
                            &self.#names, #layer_inputs, #params, #lasts,
                        )?,
                    )*
                })
            }
        }

        #[allow(dead_code)]
        impl #twin {
            /// Inputs per sample.
            pub const INPUTS: usize = #in_n;
            /// Outputs per sample.
            pub const OUTPUTS: usize = #out_n;
            /// Number of layers.
            pub const LAYERS: usize = #n;
            /// Bytes of the stored parameters, as `to_le_bytes` writes them: the input's scale
            /// and zero point, then per layer with parameters the int8 weights, int32 biases, f32
            /// weight scales and the output's scale and zero point.
            pub const WEIGHT_BYTES: usize = #weight_bytes;
            /// Bytes of the float network's values, for comparison.
            pub const F32_WEIGHT_BYTES: usize = #f32_bytes;

            /// The network from the bytes `to_le_bytes` wrote. A `const fn`, so that
            /// `static NET: MnistInt8 = MnistInt8::from_le_bytes(include_bytes!("net.q8"));`
            /// decodes at compile time into flash; invalid parameters (a weight of -128, a scale
            /// that is not positive) fail to compile.
            pub const fn from_le_bytes(#bytes: &[u8; Self::WEIGHT_BYTES]) -> Self {
                match Self::try_from_le_bytes(#bytes) {
                    ::core::result::Result::Ok(net) => net,
                    ::core::result::Result::Err(e) => e.panic(),
                }
            }

            /// [`from_le_bytes`](Self::from_le_bytes) from a slice of any length: an error
            /// for the wrong length or invalid parameters, never a panic.
            pub const fn try_from_le_bytes(
                #bytes: &[u8],
            ) -> ::core::result::Result<Self, ::constnet::quant::QuantError> {
                #decode
                let _ = #at;
                ::core::result::Result::Ok(Self { #( #names, )* })
            }

            /// The stored parameters (see `WEIGHT_BYTES`), little-endian.
            pub fn to_le_bytes(&self) -> [u8; Self::WEIGHT_BYTES] {
                let mut out = [0u8; Self::WEIGHT_BYTES];
                ::constnet::quant::QuantizedNetwork::write_le_bytes(self, &mut out);
                out
            }

            /// The input's quantisation: `q = clamp(round(x / scale) + zero_point)`.
            pub fn input_params(&self) -> ::constnet::quant::QuantParams {
                #qlayer::input(&self.#first)
            }

            /// The output's quantisation (of the last layer's int8 output, before a float
            /// activation).
            pub fn output_params(&self) -> ::constnet::quant::QuantParams {
                #qlayer::output(&self.#name_last)
            }

            /// One sample quantised with the input's parameters.
            pub fn quantize_input(&self, x: &[f32; #in_n]) -> [i8; #in_n] {
                let mut q = [0i8; #in_n];
                self.input_params().quantize_slice(x, &mut q);
                q
            }

            /// `B` int8 samples through the integer layers: integer arithmetic only (what a
            /// microcontroller without an FPU runs). The outputs are the last layer's int8 codes,
            /// before a float activation.
            pub fn forward_int8_batch<const __B: usize>(
                &self,
                #xq: &[[i8; #in_n]; __B],
                #yq: &mut [[i8; #out_n]; __B],
            ) {
                #int_forward
            }

            /// One int8 sample through the integer layers ([`forward_int8_batch`](Self::forward_int8_batch)).
            pub fn forward_int8(&self, x: &[i8; #in_n]) -> [i8; #out_n] {
                let mut y = [[0i8; #out_n]; 1];
                self.forward_int8_batch(::core::array::from_ref(x), &mut y);
                y[0]
            }

            /// The float outputs of one sample: quantised input, integer layers, dequantised
            /// output, and the last layer's activation in float (a softmax gives probabilities).
            pub fn forward(&self, x: &[f32; #in_n]) -> [f32; #out_n] {
                let q = self.forward_int8(&self.quantize_input(x));
                self.dequantize_output(&q)
            }

            /// The float outputs of `B` samples ([`forward`](Self::forward)).
            pub fn forward_batch<const __B: usize>(&self, x: &[[f32; #in_n]; __B], y: &mut [[f32; #out_n]; __B]) {
                let p = self.input_params();
                let mut xq = [[0i8; #in_n]; __B];
                for (q, x) in xq.iter_mut().zip(x) {
                    p.quantize_slice(x, q);
                }
                let mut yq = [[0i8; #out_n]; __B];
                self.forward_int8_batch(&xq, &mut yq);
                for (y, q) in y.iter_mut().zip(&yq) {
                    *y = self.dequantize_output(q);
                }
            }

            /// The last layer's int8 codes as float outputs, its activation applied.
            pub fn dequantize_output(&self, q: &[i8; #out_n]) -> [f32; #out_n] {
                let mut y = [0.0f32; #out_n];
                self.output_params().dequantize_slice(q, &mut y);
                <#act_last as ::constnet::activation::Activation>::forward(&mut y);
                y
            }

            /// The predicted class of one sample: as the float network's `predict` (the largest
            /// output; one output: above 0.5). With several outputs the largest int8 code decides,
            /// so no float is needed after the input.
            pub fn predict(&self, x: &[f32; #in_n]) -> usize {
                self.predict_int8(&self.quantize_input(x))
            }

            /// The predicted class of one int8 sample (integer arithmetic only with several
            /// outputs).
            pub fn predict_int8(&self, x: &[i8; #in_n]) -> usize {
                let q = self.forward_int8(x);
                if #out_n == 1 {
                    ::constnet::class_of(&self.dequantize_output(&q))
                } else {
                    ::constnet::quant::argmax_i8(&q)
                }
            }

            /// A table of the int8 layers: widths, fused activations, bytes and quantisation
            /// parameters (`Display` it).
            pub fn summary(&self) -> ::constnet::quant::QSummary<#n> {
                ::constnet::quant::QSummary {
                    name: ::core::stringify!(#twin),
                    input: self.input_params(),
                    f32_bytes: Self::F32_WEIGHT_BYTES,
                    layers: [ #( #qlayer::info(&self.#names, #name_strs, <#acts as ::constnet::activation::Activation>::NAME), )* ],
                }
            }
        }

        impl ::constnet::quant::QuantizedNetwork for #twin {
            const WEIGHT_BYTES: usize = Self::WEIGHT_BYTES;
            const LAYERS: &'static [::constnet::quant::QLayerShape] = &[
                #( ::constnet::quant::QLayerShape::of::<#qtypes, #acts>(#name_strs), )*
            ];

            fn try_from_le_bytes(bytes: &[u8]) -> ::core::result::Result<Self, ::constnet::quant::QuantError> {
                Self::try_from_le_bytes(bytes)
            }

            fn write_le_bytes(&self, out: &mut [u8]) {
                let out = &mut out[..Self::WEIGHT_BYTES];
                let input = self.input_params();
                out[..4].copy_from_slice(&input.scale.to_le_bytes());
                out[4..8].copy_from_slice(&input.zero_point.to_le_bytes());
                let mut at = 8;
                #(
                    #qlayer::write_le(&self.#names, &mut out[at..]);
                    at += <#qtypes as #qlayer>::WEIGHT_BYTES;
                )*
                let _ = at;
            }
        }
    }
}
