#!/usr/bin/env python3
"""Side-by-side timing: numpy (the book's code, float32, OpenBLAS) vs mnist-explorer, on the same
data, back to back in one run. numpy is a tool dependency of this script only.

  python3 benches/compare.py [eval] [--weights W.npz] [--batches 1,100,1000,10000] [--reps 7]

Times one pass over the 10,000 test images (x/255 -> sigmoid -> sigmoid -> softmax, argmax,
accuracy), loading excluded, for each batch size; prints the median of --reps passes after one
warm-up for numpy, onnxruntime (when installed: the same graph built from the same weights,
CPU provider, as many intra-op threads as ours) and ours, the ratios to ours, and (on Linux)
the host's steal during numpy's and our passes (see train below), and how many cores the CPUs
were worth before and after (see cores_probe: on some hosts two vCPUs are at times one core).

  python3 benches/compare.py train [--reps 5] [--threads 1,2] [--optimizer sgd] [--peer P.py]
                                   [--lock /tmp/bench.lock]

Times one training epoch (60,000 images, batch 100, 784-50-100-10 sigmoid, softmax +
cross-entropy, float32, x/255) in fresh processes, numpy and ours alternating, --reps each:
numpy's SGD loop (the peer script given by --peer, else the same loop built in here) and our
`train --epochs 1 --json`, whose seconds_per_epoch leaves out loading and normalizing. Prints
each side's median and the ratio numpy / ours for every --threads count, and (on Linux) how
much of the CPU time the host stole from this virtual machine during the runs: a share above a
few percent means the figures say more about the neighbours than the code. With --lock, each
timed process runs under `flock LOCK`, so runs by others on the machine never overlap ours.

Build first: cargo build --release. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set, slow a current
numpy: eval mode needs `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` for numpy's best; train
mode drops them from numpy's environment itself.
"""
import argparse, gzip, json, os, statistics, subprocess, sys, tempfile, time

import numpy as np

# Seconds to wait before timing each side of a row (see main).
SETTLE = 0.5

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


def ort_session(weights, threads):
    """onnxruntime (CPU provider) running the same graph as the book: MatMul+Add+Sigmoid per
    hidden layer, MatMul+Add+Softmax, ArgMax; None (with the reason) when it is not installed."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as e:
        return None, f"onnxruntime skipped ({e.name} not installed: pip install onnxruntime onnx)"
    net = np.load(weights)
    n = 1
    while f"W{n + 1}" in net:
        n += 1
    inits, nodes, prev = [], [], "x"
    for k in range(1, n + 1):
        inits += [numpy_helper.from_array(net[f"W{k}"].astype(np.float32), f"W{k}"),
                  numpy_helper.from_array(net[f"b{k}"].astype(np.float32), f"b{k}")]
        nodes += [helper.make_node("MatMul", [prev, f"W{k}"], [f"m{k}"]),
                  helper.make_node("Add", [f"m{k}", f"b{k}"], [f"a{k}"])]
        nodes.append(helper.make_node("Sigmoid", [f"a{k}"], [f"z{k}"]) if k < n else
                     helper.make_node("Softmax", [f"a{k}"], [f"z{k}"], axis=-1))
        prev = f"z{k}"
    nodes.append(helper.make_node("ArgMax", [prev], ["p"], axis=1, keepdims=0))
    inputs = net["W1"].shape[0]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", inputs])],
        [helper.make_tensor_value_info("p", TensorProto.INT64, ["N"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count()
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session, f"onnxruntime {ort.__version__}, {options.intra_op_num_threads} threads"


def ort_eval(session, data, batch, reps):
    """Median seconds of one pass over the test set through `session` (x/255 done before)."""
    x = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"))
    t = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"))
    x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)

    def one_pass():
        return sum(int((session.run(None, {"x": x[i:i + batch]})[0] == t[i:i + batch]).sum())
                   for i in range(0, len(x), batch))

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


def numpy_train(data, epochs, batch, lr, seed):
    """The numpy peer's training loop (float32, plain SGD); returns seconds per epoch."""
    def load(split):
        x = idx(os.path.join(data, f"{split}-images-idx3-ubyte.gz"))
        t = idx(os.path.join(data, f"{split}-labels-idx1-ubyte.gz"))
        return x.reshape(len(x), -1).astype(np.float32) / np.float32(255), t

    xtr, ttr = load("train")
    rng = np.random.default_rng(seed)
    sizes = [784, 50, 100, 10]
    W = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32) for m, n in zip(sizes, sizes[1:])]
    B = [np.zeros(n, np.float32) for n in sizes[1:]]
    lr = np.float32(lr)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = rng.permutation(len(xtr))
        for i in range(0, len(xtr), batch):
            ids = perm[i:i + batch]
            x, t = xtr[ids], ttr[ids]
            z1 = sigmoid(x @ W[0] + B[0])
            z2 = sigmoid(z1 @ W[1] + B[1])
            d3 = softmax(z2 @ W[2] + B[2])
            d3[np.arange(len(t)), t] -= 1
            d3 /= len(t)
            d2 = (d3 @ W[2].T) * z2 * (1 - z2)
            d1 = (d2 @ W[1].T) * z1 * (1 - z1)
            grads = [(x.T @ d1, d1.sum(0)), (z1.T @ d2, d2.sum(0)), (z2.T @ d3, d3.sum(0))]
            for j, (gw, gb) in enumerate(grads):
                W[j] -= lr * gw
                B[j] -= lr * gb
    return (time.perf_counter() - t0) / epochs


def cpu_ticks():
    """(busy, stolen) clock ticks of all CPUs so far, from /proc/stat; None where there is none.
    Steal is time a virtual CPU was ready to run but its host ran something else."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def timed(cmd, lock, env=None):
    """Runs cmd (under flock when lock is set) and returns its stdout's last JSON line, plus
    `steal_share`: the host's steal as a share of busy + stolen CPU time during the run
    (None off Linux)."""
    if lock:
        cmd = ["flock", lock] + cmd
    run = lambda: subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    out, steal = stolen_during(run)
    report = json.loads(out.strip().splitlines()[-1])
    report["steal_share"] = steal
    return report


def stolen_during(run):
    """Calls run() and returns its result with the host's steal share meanwhile (see timed)."""
    before = cpu_ticks()
    result = run()
    after = cpu_ticks()
    if not (before and after):
        return result, None
    busy, steal = after[0] - before[0], after[1] - before[1]
    return result, steal / (busy + steal) if busy + steal else 0.0


def cores_probe(binary, data):
    """How many cores the machine's CPUs are worth right now: one 1-thread pass of ours timed
    alone, then two at once; each at full speed means 2.0, each at half speed 1.0. Some hosts
    put a VM's two vCPUs on one physical core for a while (the two halves of an SMT pair), and
    in such a spell two threads do no more than one: the figures of that run are then figures
    of one core. Steal does not show it, this does."""
    cmd = [binary, "--threads", "1", "--data-dir", data, "eval", "--json", "--batch-size", "100",
           "--repeat", "41"]
    seconds = lambda out: json.loads(out)["seconds"]
    alone = seconds(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(2)]
    together = [seconds(p.communicate()[0]) for p in procs]
    return sum(alone / t for t in together)


def cores_note(binary, data):
    """'2 CPUs worth 1.9 cores (before)'; see cores_probe."""
    return f"{os.cpu_count()} CPUs worth {cores_probe(binary, data):.1f} cores"


def steal_note(shares):
    """' steal 12% (3-40%)': the median and range of the host's steal over some runs."""
    shares = [s for s in shares if s is not None]
    if not shares:
        return ""
    return f"   steal {statistics.median(shares):.0%} ({min(shares):.0%}-{max(shares):.0%})"


def train_mode(argv):
    p = argparse.ArgumentParser(prog="compare.py train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(ROOT, "data"))
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "mnist-explorer"))
    p.add_argument("--peer", help="numpy peer script with a `train` command (default: built in)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", default="1,2", help="our thread counts, comma-separated")
    p.add_argument("--optimizer", default="sgd", help="our optimizer (numpy always runs SGD)")
    p.add_argument("--lock", help="run each timed process under `flock LOCK`")
    a = p.parse_args(argv)
    if not os.path.exists(a.binary):
        sys.exit(f"{a.binary} not found: run `cargo build --release` first")
    np_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if a.peer:
        np_cmd = [sys.executable, a.peer, "train", "--data", a.data, "--epochs", "1", "--batch", "100"]
    else:
        np_cmd = [sys.executable, os.path.abspath(__file__), "numpy-train", "--data", a.data]
    threads = [int(t) for t in a.threads.split(",")]
    out = os.path.join(tempfile.mkdtemp(prefix="compare-train-"), "weights.npz")
    ours_cmd = lambda t: [a.binary, "--threads", str(t), "--data-dir", a.data, "train", "--epochs", "1",
                          "--batch-size", "100", "--optimizer", a.optimizer, "--json", "--out", out, "--force"]
    before = cores_note(a.binary, a.data)
    numpy_s, ours_s = [], {t: [] for t in threads}
    numpy_steal, ours_steal = [], {t: [] for t in threads}
    kernel = "?"
    for _ in range(a.reps):
        report = timed(np_cmd, a.lock, np_env)
        numpy_s.append(report["seconds_per_epoch"])
        numpy_steal.append(report["steal_share"])
        for t in threads:
            report = timed(ours_cmd(t), a.lock)
            ours_s[t].append(report["seconds_per_epoch"])
            ours_steal[t].append(report["steal_share"])
            kernel = report["kernel"]
    np_med = statistics.median(numpy_s)
    print(f"one epoch, 60,000 images, batch 100; median of {a.reps} runs each, interleaved")
    print(f"  {before} before the runs, {cores_note(a.binary, a.data)} after")
    print(f"  numpy (sgd)            {np_med:.4f} s   runs: {' '.join(f'{s:.3f}' for s in numpy_s)}"
          f"{steal_note(numpy_steal)}")
    for t in threads:
        med = statistics.median(ours_s[t])
        print(f"  ours ({a.optimizer}, {t} thread{'s' if t > 1 else ''})  {med:.4f} s   "
              f"runs: {' '.join(f'{s:.3f}' for s in ours_s[t])}   numpy/ours {np_med / med:.2f}x  ({kernel})"
              f"{steal_note(ours_steal[t])}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        return train_mode(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "numpy-train":
        p = argparse.ArgumentParser(prog="compare.py numpy-train")
        p.add_argument("--data", default=os.path.join(ROOT, "data"))
        a = p.parse_args(sys.argv[2:])
        print(json.dumps(dict(seconds_per_epoch=numpy_train(a.data, 1, 100, 0.1, 0))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "eval":
        del sys.argv[1]
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
    session, ort_note = ort_session(a.weights, a.threads)
    print(ort_note)
    print(f"{cores_note(a.binary, a.data)} before the runs")
    print(f"{'batch':>6} {'numpy ms':>10} {'ort ms':>8} {'ours ms':>9} {'numpy/ours':>11} {'ort/ours':>9}"
          f"  accuracy (numpy, ort, ours)  kernel")
    for batch in (int(b) for b in a.batches.split(",")):
        reps = a.reps if batch > 1 else max(3, a.reps // 2)
        # numpy's OpenBLAS threads (and onnxruntime's), in this process, stay busy a moment
        # after their last product: whatever was timed next at once shared a core with them
        # (our pass took its 1-thread time), so each side starts on a quiet machine.
        time.sleep(SETTLE)
        (np_s, np_acc), np_steal = stolen_during(lambda: numpy_eval(a.data, a.weights, batch, reps))
        time.sleep(SETTLE)
        ort_s, ort_acc = (ort_eval(session, a.data, batch, reps) if session
                          else (float("nan"), float("nan")))
        time.sleep(SETTLE)
        (our_s, our_acc, kernel, threads), our_steal = stolen_during(
            lambda: ours_eval(a.binary, a.data, a.weights, batch, reps, a.threads))
        stolen = "" if np_steal is None else f"  steal {np_steal:.0%}, {our_steal:.0%}"
        print(f"{batch:>6} {np_s * 1e3:>10.2f} {ort_s * 1e3:>8.2f} {our_s * 1e3:>9.2f} "
              f"{np_s / our_s:>10.2f}x {ort_s / our_s:>8.2f}x  "
              f"{np_acc:.4f}, {ort_acc:.4f}, {our_acc:.4f}  {kernel}, {threads} threads{stolen}")
    print(f"{cores_note(a.binary, a.data)} after the runs")


if __name__ == "__main__":
    main()
