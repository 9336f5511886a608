#!/usr/bin/env python3
"""Checks `show INDEX --json` against a plain numpy float32 forward pass (the book's code),
for the given test images and every normalization mode, on the given weights; and both
against the same pass in float64, to tell whose rounding a difference is.

  python3 benches/show_vs_numpy.py target/release/mnist-explorer data WEIGHTS.npz 0,1,2,8

Prints, per mode, the largest |ours - numpy| over activations and logits and how many images
exceed 1e-5; exits 1 if any does."""
import gzip, json, subprocess, sys
import numpy as np

BIN, DATA, WEIGHTS = sys.argv[1], sys.argv[2], sys.argv[3]
indices = [int(i) for i in sys.argv[4].split(",")]

def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4+4*i:8+4*i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4+4*nd).reshape(dims)

X = idx(f"{DATA}/t10k-images-idx3-ubyte.gz").reshape(10000, -1)
T = idx(f"{DATA}/t10k-labels-idx1-ubyte.gz")
net = np.load(WEIGHTS)
layers = []
k = 1
while f"W{k}" in net:
    layers.append((net[f"W{k}"], net[f"b{k}"])); k += 1
MEAN, STD = np.float32(0.1306604762738429), np.float32(0.30810780385646264)

def normalize(p, mode):
    x = p.astype(np.float32)
    if mode == "raw": return x
    if mode == "div255": return x / np.float32(255)
    if mode == "zscore": return (x / np.float32(255) - MEAN) / STD
    d = {"l1": np.abs(p.astype(np.int64)).sum(), "l2": np.sqrt((p.astype(np.int64)**2).sum()), "max": p.max()}[mode]
    d = np.float32(d) if d != 0 else np.float32(1)
    return x / d

def sigmoid(a): return 1 / (1 + np.exp(-a))

worst = {"activations": 0.0, "logits": 0.0, "softmax": 0.0}
per_mode = {}
exact_gap = [0.0, 0.0]  # ours against the float64 pass: activations, logits
numpy_gap = [0.0, 0.0]  # numpy's float32 pass against the float64 one (logits)
with np.errstate(over="ignore"):
    for mode in ["raw", "div255", "l1", "l2", "max", "zscore"]:
        for i in indices:
            out = json.loads(subprocess.run([BIN, "--data-dir", DATA, "--weights", WEIGHTS, "show", str(i), "--json", "--norm", mode], capture_output=True, check=True).stdout)
            a = normalize(X[i], mode)[None, :]
            exact = a.astype(np.float64)
            hidden = []
            for W, b in layers[:-1]:
                a = sigmoid(a @ W + b).astype(np.float32); hidden.append(a[0])
                exact = sigmoid(exact @ W.astype(np.float64) + b.astype(np.float64))
                truth = np.array(out["activations"][len(hidden) - 1], np.float64)
                exact_gap[0] = max(exact_gap[0], float(np.abs(truth - exact[0]).max()))
            W, b = layers[-1]
            logits = (a @ W + b)[0]
            exact_logits = (exact @ W.astype(np.float64) + b.astype(np.float64))[0]
            exact_gap[1] = max(exact_gap[1], float(np.abs(np.array(out["output"]["logits"], np.float64) - exact_logits).max()))
            numpy_gap[1] = max(numpy_gap[1], float(np.abs(logits - exact_logits).max()))
            e = np.exp(logits - logits.max()); y = e / e.sum()
            assert out["index"] == i and out["label"] == int(T[i]) and out["norm"] == mode
            assert out["prediction"] == int(np.argmax(logits)), (mode, i)
            assert len(out["activations"]) == len(hidden)
            for got, want in zip(out["activations"], hidden):
                worst["activations"] = max(worst["activations"], float(np.abs(np.array(got, np.float32) - want).max()))
            worst["logits"] = max(worst["logits"], float(np.abs(np.array(out["output"]["logits"], np.float32) - logits).max()))
            d = max(max(float(np.abs(np.array(g, np.float32) - w).max()) for g, w in zip(out["activations"], hidden)) if hidden else 0.0, float(np.abs(np.array(out["output"]["logits"], np.float32) - logits).max()))
            m = per_mode.setdefault(mode, [0.0, 0])
            m[0] = max(m[0], d); m[1] += d > 1e-5
            worst["softmax"] = max(worst["softmax"], float(np.abs(np.array(out["output"]["softmax"], np.float32) - y).max()))
print({k: ("%.1e" % v[0], "%d over 1e-5" % v[1]) for k, v in per_mode.items()})
print("ours vs float64: activations %.1e, logits %.1e; numpy float32 vs float64: logits %.1e" % (exact_gap[0], exact_gap[1], numpy_gap[1]))
print(WEIGHTS, len(indices), "images x 6 modes; largest |ours - numpy|:", worst)
ok = all(v <= 1e-5 for v in worst.values())
print("within 1e-5" if ok else "NOT within 1e-5")
sys.exit(0 if ok else 1)
