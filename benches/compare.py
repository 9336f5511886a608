#!/usr/bin/env python3
"""Side-by-side timing: numpy (the book's code, float32, OpenBLAS) vs mnist-explorer, on the same
data and weights, back to back in one run. numpy is a tool dependency of this script only.

  python3 benches/compare.py [--weights W.npz] [--batches 1,100,1000,10000] [--reps 7]

Times one pass over the 10,000 test images (x/255 -> sigmoid -> sigmoid -> softmax, argmax,
accuracy), loading excluded, for each batch size; prints the median of --reps passes after one
warm-up for both, and the ratio numpy / ours. Build first: cargo build --release.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set, slow a current numpy: run under
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` for numpy's best.
"""
import argparse, gzip, json, os, statistics, subprocess, sys, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx(path):
    with gzip.open(path) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def softmax(a):
    a = a - a.max(axis=-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)


def numpy_eval(data, weights, batch, reps):
    x = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"))
    t = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"))
    x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
    net = np.load(weights)
    W1, b1, W2, b2, W3, b3 = (net[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))

    def one_pass():
        correct = 0
        for i in range(0, len(x), batch):
            y = softmax(sigmoid(sigmoid(x[i:i + batch] @ W1 + b1) @ W2 + b2) @ W3 + b3)
            correct += int(np.sum(np.argmax(y, axis=1) == t[i:i + batch]))
        return correct

    one_pass()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        correct = one_pass()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), correct / len(x)


def ours_eval(binary, data, weights, batch, reps, threads):
    cmd = [binary, "--data-dir", data, "--weights", weights, "eval", "--json",
           "--batch-size", str(batch), "--repeat", str(reps)]
    if threads:
        cmd[1:1] = ["--threads", str(threads)]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return out["seconds"], out["accuracy"], out["kernel"], out["threads"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=os.path.join(ROOT, "weights", "mnist-784-50-100-10.npz"))
    p.add_argument("--data", default=os.path.join(ROOT, "data"))
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "mnist-explorer"))
    p.add_argument("--batches", default="1,100,1000,10000")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--threads", type=int, default=0, help="our threads (default: one per core)")
    a = p.parse_args()
    if not os.path.exists(a.binary):
        sys.exit(f"{a.binary} not found: run `cargo build --release` first")
    print(f"{'batch':>6} {'numpy ms':>10} {'ours ms':>9} {'numpy/ours':>11}  accuracy (numpy, ours)  kernel")
    for batch in (int(b) for b in a.batches.split(",")):
        reps = a.reps if batch > 1 else max(3, a.reps // 2)
        np_s, np_acc = numpy_eval(a.data, a.weights, batch, reps)
        our_s, our_acc, kernel, threads = ours_eval(a.binary, a.data, a.weights, batch, reps, a.threads)
        print(f"{batch:>6} {np_s * 1e3:>10.2f} {our_s * 1e3:>9.2f} {np_s / our_s:>10.2f}x  "
              f"{np_acc:.4f}, {our_acc:.4f}        {kernel}, {threads} threads")


if __name__ == "__main__":
    main()
