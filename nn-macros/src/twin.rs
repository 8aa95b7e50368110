//! The int8 twin of a network (`struct Mnist` → `MnistInt8`), generated where every layer has an
//! int8 form in nn-core (`quant::Quantize`): today, networks of `Dense` layers on a flat input.
//! Emission only, like `expand.rs`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use crate::lower::{Dim, Plan, Shape};

/// Whether `plan` gets a twin: Dense layers on a flat input, every width compared by the macro.
/// Widths it leaves to a const assertion (named consts that differ in spelling) get none: were
/// they wrong, the twin's hand-offs would repeat the assertion's one error as type errors.
pub fn supported(plan: &Plan) -> bool {
    matches!(plan.input, Shape::Flat(_))
        && plan
            .layers
            .iter()
            .all(|l| l.layer.kind == "Dense" && l.check.is_none())
}

fn local(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

pub fn twin(plan: &Plan) -> TokenStream {
    let net = plan.net;
    let (vis, ident) = (&net.vis, &net.ident);
    let twin = format_ident!("{}Int8", ident);
    let layers = &plan.layers;
    let n = layers.len();
    let last = n - 1;
    let names: Vec<_> = layers.iter().map(|l| &l.layer.name).collect();
    let name_strs: Vec<_> = names.iter().map(|n| n.to_string()).collect();
    let types: Vec<_> = layers.iter().map(|l| &l.ty).collect();
    // Each layer's input and output widths.
    let widths: Vec<(Dim, Dim)> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let input = if i == 0 {
                plan.inputs.clone()
            } else {
                layers[i - 1].output.len()
            };
            (input, l.output.len())
        })
        .collect();
    let qtypes: Vec<TokenStream> = widths
        .iter()
        .map(|(i, o)| {
            let (i, o) = (i.arg(), o.arg());
            quote!(::constnet::quant::QDense<#i, #o>)
        })
        .collect();
    let outs: Vec<TokenStream> = widths.iter().map(|(_, o)| o.expr()).collect();
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

    // Calibration: one sample at a time through the float layers, each widening its output's range.
    let ranges: Vec<_> = (0..n).map(|i| local(&format!("__range{i}"))).collect();
    let acts_buf: Vec<_> = (0..n).map(|i| local(&format!("__a{i}"))).collect();
    let params: Vec<_> = (0..n).map(|i| local(&format!("__p{i}"))).collect();
    let (x, cal, input_range, input_params) = (
        local("__x"),
        local("__calibration"),
        local("__range_in"),
        local("__p_in"),
    );
    let mut observe = TokenStream::new();
    for i in 0..n {
        let (name, out, a, r, is_last) = (names[i], &outs[i], &acts_buf[i], &ranges[i], lasts[i]);
        let input = if i == 0 {
            quote!(#x)
        } else {
            let prev = &acts_buf[i - 1];
            quote!(&#prev)
        };
        observe.extend(quote! {
            let mut #a = [0.0f32; #out];
            ::constnet::quant::Quantize::observe(&self.#name, #input, &mut #a, &mut #r, #is_last);
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
            let prev = names[i - 1];
            quote!(#prev.output())
        };
        let fused = local("__fused");
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
            #at += <#q>::WEIGHT_BYTES;
        });
    }

    // Inference: int8 buffers handed from layer to layer.
    let xq = local("__xq");
    let mut int_forward = TokenStream::new();
    for i in 0..n {
        let (name, out) = (names[i], &outs[i]);
        let input = if i == 0 {
            quote!(#xq)
        } else {
            let prev = &acts_buf[i - 1];
            quote!(&#prev)
        };
        let a = &acts_buf[i];
        if i == last {
            int_forward.extend(quote!(self.#name.forward_batch(#input, __y);));
        } else {
            int_forward.extend(quote! {
                let mut #a = [[0i8; #out]; __B];
                self.#name.forward_batch(#input, &mut #a);
            });
        }
    }
    let name_last = names[last];
    let act_last = &acts[last];
    let first = names[0];
    let weight_bytes = {
        let terms = qtypes.iter().map(|q| quote!(<#q>::WEIGHT_BYTES));
        quote!(8 #( + #terms )*)
    };
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
                #( let #params = #ranges.params(); )*
                ::core::result::Result::Ok(#twin {
                    #(
                        #names: ::constnet::quant::Quantize::quantize(
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
            /// and zero point, then per layer the int8 weights, int32 biases, f32 weight scales
            /// and the output's scale and zero point.
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
                self.#first.input()
            }

            /// The output's quantisation (of the last layer's int8 output, before a float
            /// activation).
            pub fn output_params(&self) -> ::constnet::quant::QuantParams {
                self.#name_last.output()
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
                __y: &mut [[i8; #out_n]; __B],
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
                let q = self.forward_int8(&self.quantize_input(x));
                if #out_n == 1 {
                    ::constnet::class_of(&self.dequantize_output(&q))
                } else {
                    ::constnet::quant::argmax_i8(&q)
                }
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
                    layers: [ #( self.#names.info(#name_strs, <#acts as ::constnet::activation::Activation>::NAME), )* ],
                }
            }
        }

        impl ::constnet::quant::QuantizedNetwork for #twin {
            const WEIGHT_BYTES: usize = Self::WEIGHT_BYTES;
            const LAYERS: &'static [::constnet::quant::QLayerShape] = &[
                #(
                    ::constnet::quant::QLayerShape {
                        name: #name_strs,
                        inputs: <#qtypes>::INPUTS,
                        outputs: <#qtypes>::OUTPUTS,
                        activation: <#acts as ::constnet::activation::Activation>::OP,
                        activation_name: <#acts as ::constnet::activation::Activation>::NAME,
                    },
                )*
            ];

            fn try_from_le_bytes(bytes: &[u8]) -> ::core::result::Result<Self, ::constnet::quant::QuantError> {
                Self::try_from_le_bytes(bytes)
            }

            fn write_le_bytes(&self, out: &mut [u8]) {
                let out = &mut out[..Self::WEIGHT_BYTES];
                let input = self.#first.input();
                out[..4].copy_from_slice(&input.scale.to_le_bytes());
                out[4..8].copy_from_slice(&input.zero_point.to_le_bytes());
                let mut at = 8;
                #(
                    self.#names.write_le(&mut out[at..]);
                    at += <#qtypes>::WEIGHT_BYTES;
                )*
                let _ = at;
            }
        }
    }
}
