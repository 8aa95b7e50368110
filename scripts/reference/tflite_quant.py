"""Reference values for the int8 quantisation tests in nn-core/src/quant/mod.rs.

An independent reimplementation of TensorFlow Lite's reference algorithms, integer-exact (Python
ints are unbounded, so every intermediate is computed exactly and then wrapped or saturated where the
C++ code would be):
  - QuantizeMultiplier (tensorflow/lite/kernels/internal/quantization_util.cc, double rounding),
  - SaturatingRoundingDoublingHighMul and RoundingDivideByPOT (gemmlowp fixedpoint.h),
  - MultiplyByQuantizedMultiplier (tensorflow/lite/kernels/internal/common.h, double rounding),
  - GetAsymmetricQuantizationParams (tensorflow/lite/tools/optimize/quantization_utils.cc), whose
    arithmetic is in float32: each operation is done in double and rounded to float32, which gives
    the correctly rounded float32 result for +, -, * and / (53 >= 2 * 24 + 2 bits).
Run with any Python 3 (standard library only):
    python3 scripts/reference/tflite_quant.py
and paste the printed Rust literals into the tests.
"""
import math
import struct

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def tflite_round(x):
    """std::round: half away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(m):
    """(quantized_multiplier, shift) as TFLite's QuantizeMultiplier computes them."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)  # m = q * 2**shift, 0.5 <= |q| < 1, exactly as C's frexp
    q_fixed = tflite_round(q * (1 << 31))  # q * 2**31 is exact in a double
    assert abs(q_fixed) <= 1 << 31
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    assert q_fixed <= INT32_MAX
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def c_div(a, b):
    """C++ integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return c_div(ab + nudge, 1 << 31)


def rdbpot(x, exponent):
    """gemmlowp RoundingDivideByPOT (x >> exponent with round-half-away-from-zero)."""
    assert 0 <= exponent <= 31
    mask = (1 << exponent) - 1
    remainder = x & mask  # two's complement AND, as in C on an int32
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def wrap32(v):
    return (v + 2**31) % 2**32 - 2**31


def mbqm(x, qm, shift):
    """MultiplyByQuantizedMultiplier; the left shift wraps (it is UB on overflow in C++)."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(wrap32(x * (1 << left)), qm), right)


def f(x):
    """Rounds a double to the nearest float32 (ties to even), as a C++ float assignment does."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def asym_params(rmin, rmax, qmin=-128, qmax=127):
    """GetAsymmetricQuantizationParams in float32 arithmetic: (scale as f32 bits, zero point)."""
    rmin = min(f(rmin), f(0.0))
    rmax = max(f(rmax), f(0.0))
    scale = f(f(rmax - rmin) / f(f(qmax) - f(qmin)))
    zp_from_min = f(qmin)
    if scale != 0:
        zp_from_min = f(f(qmin) - f(rmin / scale))
    if zp_from_min < f(qmin):
        zp = qmin
    elif zp_from_min > f(qmax):
        zp = qmax
    else:
        zp = int(tflite_round(float(zp_from_min)))
    return f32_bits(scale), zp


def main():
    scales = [1.0, 0.5, 0.25, 0.75, 1e-3, 0.0042, 0.3333333333333333, 2.0, 3.7, 1e-10, 2.0**-31, 2.0**-32,
              0.9999999999, 1.0 - 2.0**-40, 0.00390625 * 0.0123 / 0.0456, 123456.789]
    print("// QuantizeMultiplier: (scale, multiplier, shift)")
    for s in scales:
        qm, sh = quantize_multiplier(s)
        print(f"({s!r}_f64, {qm}, {sh}),")

    xs = [0, 1, -1, 2, -2, 3, -3, 100, -100, 12345, -12345, 1 << 20, -(1 << 20), INT32_MAX, INT32_MIN,
          INT32_MIN + 1, 1 << 30, -(1 << 30), 7, -7]
    ms = [(1 << 30, 0), (1 << 30, -1), (1 << 30, -3), (INT32_MAX, 0), (1518500250, -7),
          (1073741824, 1), (1431655765, -1), (INT32_MIN, 0), (1999999999, -31), (1234567890, 2)]
    print("// MultiplyByQuantizedMultiplier: (x, multiplier, shift, result)")
    for qm, sh in ms:
        for x in xs:
            print(f"({x}, {qm}, {sh}, {mbqm(x, qm, sh)}),")

    print("// SaturatingRoundingDoublingHighMul edge: (a, b, result)")
    for a, b in [(INT32_MIN, INT32_MIN), (INT32_MIN, INT32_MAX), (INT32_MAX, INT32_MAX), (-1, 1 << 30),
                 (1, 1 << 30), (-3, 1 << 30), (3, 1 << 30), (INT32_MIN, 1)]:
        print(f"({a}, {b}, {srdhm(a, b)}),")

    print("// RoundingDivideByPOT: (x, exponent, result)")
    for x, e in [(5, 1), (-5, 1), (6, 2), (-6, 2), (10, 2), (-10, 2), (3, 1), (-3, 1), (INT32_MAX, 31),
                 (INT32_MIN, 31), (INT32_MIN, 1), (1, 0), (-1, 0), (12345, 31), (-(1 << 30), 31)]:
        print(f"({x}, {e}, {rdbpot(x, e)}),")

    print("// GetAsymmetricQuantizationParams: (min, max, scale bits, zero point)")
    for lo, hi in [(-1.0, 1.0), (0.0, 6.0), (-6.0, 0.0), (0.5, 2.0), (-3.0, -1.0), (-0.3, 7.1),
                   (-10.0, 0.01), (-0.01, 10.0), (0.0, 0.0), (-2.5, 2.6), (-128.0, 127.0), (-1e-3, 255.0)]:
        bits, zp = asym_params(lo, hi)
        print(f"({lo!r}_f32, {hi!r}_f32, 0x{bits:08x}, {zp}),")


if __name__ == "__main__":
    main()
