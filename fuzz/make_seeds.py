#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/<target>/, from small valid files: real MNIST images cut
from data/mnist-10k, small CSVs, raw weights of the right lengths. Each seed starts with the
option bytes that its target reads (see the comments at the top of fuzz_targets/*.rs).
Run from anywhere: python3 fuzz/make_seeds.py (it replaces the seeds)."""
import gzip
import random
import shutil
import struct
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
MNIST = FUZZ.parent / "data" / "mnist-10k"


def idx(magic, dims, data):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def mnist(count, offset=0):
    images = gzip.open(MNIST / "t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz").read()
    px = images[16 + 784 * offset : 16 + 784 * (offset + count)]
    return idx(0x803, [count, 28, 28], px), idx(0x801, [count], labels[8 + offset : 8 + offset + count])


def small():
    return idx(0x803, [2, 2, 2], [0, 255, 51, 102, 255, 255, 0, 0]), idx(0x801, [2], [1, 0])


def idx_opts(n_code, classes):
    return bytes([(classes << 2) | n_code])


def write(target, name, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def main():
    for target in ["idx", "idx_gzip", "csv", "raw_weights"]:
        shutil.rmtree(FUZZ / "corpus" / target, ignore_errors=True)

    pairs = {
        "mnist3": (3, 10, *mnist(3)),
        "mnist1": (3, 10, *mnist(1, offset=7)),
        "small2x2": (2, 2, *small()),
        "one_pixel": (1, 3, idx(0x803, [3, 1, 1], [0, 128, 255]), idx(0x801, [3], [2, 0, 1])),
        "no_pixels": (0, 2, idx(0x803, [0, 0, 0], []), idx(0x801, [0], [])),
    }
    for name, (n_code, classes, images, labels) in pairs.items():
        split = struct.pack("<H", len(images))
        write("idx", name, idx_opts(n_code, classes) + split + images + labels)
        # idx_gzip: the target gzips the image part (mode 0), also the labels (mode 2), in two
        # members (mode 4).
        for mode in (0, 2, 6):
            write("idx_gzip", f"{name}_mode{mode}", idx_opts(n_code, classes) + bytes([mode]) + split + images + labels)
    # Mode 1: the image part is raw gzip input after the magic.
    images, labels = mnist(2, offset=3)
    raw = gzip.compress(images, compresslevel=9)[2:]
    write("idx_gzip", "mnist2_rawgzip", idx_opts(3, 10) + bytes([1]) + struct.pack("<H", len(raw)) + raw + labels)
    images, labels = small()
    raw = gzip.compress(images)[2:]
    write("idx_gzip", "small_rawgzip", idx_opts(2, 2) + bytes([3]) + struct.pack("<H", len(raw)) + raw + gzip.compress(labels))

    # csv: byte 0 = N code (0..3 for 1, 2, 3, 8 features) | header << 2 | classes << 3.
    def csv_opts(n_code, header, classes):
        return bytes([n_code | (4 if header else 0) | (classes << 3)])

    rng = random.Random(1)
    csvs = {
        "xy_header": (1, True, 2, "x,y,label\n0.5,1,1\n-2,0,0\n"),
        "xy_plain": (1, False, 2, "1.5,-2,1\n0,0,0\n"),
        "quoted": (1, True, 3, '"a","b ""quoted""",label\n"1e-3", 2.5 ,2\r\n3,4,0\r\n'),
        "one_feature": (0, False, 4, "0.25,3\n\n1,0\n-7.5e2,1\n"),
        "three": (2, True, 10, "a,b,c,label\n" + "".join(
            f"{rng.uniform(-9, 9):.4f},{rng.uniform(-9, 9):.2e},{rng.randint(-5, 5)},{rng.randrange(10)}\n" for _ in range(20))),
        "eight": (3, False, 3, "".join(
            ",".join(f"{rng.random():.3f}" for _ in range(8)) + f",{rng.randrange(3)}\n" for _ in range(10))),
    }
    for name, (n_code, header, classes, text) in csvs.items():
        write("csv", name, csv_opts(n_code, header, classes) + text.encode())

    # raw_weights: byte 0 bit 0 picks the MLP (67 parameters) over the CNN (151), bit 1 runs
    # inference; then the little-endian f32s.
    for name, (net, params) in {"cnn": (0, 151), "mlp": (1, 67)}.items():
        weights = b"".join(struct.pack("<f", rng.gauss(0, 0.3)) for _ in range(params))
        write("raw_weights", name, bytes([net]) + weights)
        write("raw_weights", f"{name}_infer", bytes([net | 2]) + weights)
        write("raw_weights", f"{name}_special", bytes([net | 2]) + struct.pack("<4f", float("nan"), float("inf"), -0.0, 1e-45) + weights[16:])
        write("raw_weights", f"{name}_short", bytes([net]) + weights[:-1])


if __name__ == "__main__":
    main()
