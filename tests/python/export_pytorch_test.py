#!/usr/bin/env python3
"""examples/export_pytorch.py against rmsmp's C++ manifest reader, without PyTorch.

A ResNet-like model made of stand-ins for the torch.nn modules (same class names and
attributes, NumPy weights) is exported, loaded by tests/tools/float_model_dump.cpp, and:
  * the tensors the C++ reader returns equal the exported files bit for bit;
  * the shapes it infers equal the ones derived by hand below;
  * a NumPy forward pass over what C++ read (batch norms folded) matches a forward pass of
    the original stand-in model (batch norms applied separately).
Also checks the exporter's and the reader's refusals.

Exit 77 (ctest: skipped) when NumPy is missing, so a machine without it reports a skip, not
a pass.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: NumPy is not available to this Python (" + sys.executable + ")")
    sys.exit(77)

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message)


# --- stand-ins for torch.nn modules ----------------------------------------------------------
rng = np.random.default_rng(5)


class Sequential:
    def __init__(self, *modules):
        self.modules = modules

    def named_children(self):
        return [(str(i), m) for i, m in enumerate(self.modules)]

    def __call__(self, x):
        for m in self.modules:
            x = m(x)
        return x


class Conv2d:
    def __init__(self, cin, cout, k, stride=1, padding=0, bias=True, groups=1):
        self.weight = rng.normal(0, 0.3, (cout, cin, k, k)).astype(np.float32)
        self.bias = rng.normal(0, 0.1, cout).astype(np.float32) if bias else None
        self.stride, self.padding, self.groups = (stride, stride), (padding, padding), groups
        self.dilation, self.padding_mode = (1, 1), "zeros"

    def __call__(self, x):
        y = conv2d(x, self.weight.astype(np.float64), self.stride, self.padding)
        return y if self.bias is None else y + self.bias.reshape(-1, 1, 1)


class BatchNorm2d:
    def __init__(self, c):
        self.weight = rng.uniform(0.5, 1.5, c).astype(np.float32)
        self.bias = rng.normal(0, 0.1, c).astype(np.float32)
        self.running_mean = rng.normal(0, 0.2, c).astype(np.float32)
        self.running_var = rng.uniform(0.5, 2.0, c).astype(np.float32)
        self.eps = 1e-5

    def __call__(self, x):
        shape = (-1, 1, 1)
        return ((x - self.running_mean.reshape(shape)) / np.sqrt(self.running_var.reshape(shape) + self.eps)
                * self.weight.reshape(shape) + self.bias.reshape(shape))


class ReLU:
    def __call__(self, x):
        return np.maximum(x, 0)


class MaxPool2d:
    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.dilation, self.ceil_mode = 1, False

    def __call__(self, x):
        return pool(x, "max", [self.kernel_size] * 2, [self.stride] * 2, [self.padding] * 2)


class AvgPool2d(MaxPool2d):
    count_include_pad, divisor_override = True, None

    def __call__(self, x):
        return pool(x, "avg", [self.kernel_size] * 2, [self.stride] * 2, [self.padding] * 2)


class AdaptiveAvgPool2d:
    def __init__(self, output_size):
        self.output_size = output_size

    def __call__(self, x):
        return x.mean(axis=(1, 2), keepdims=True)


class Flatten:
    start_dim, end_dim = 1, -1

    def __call__(self, x):
        return x.reshape(-1, 1, 1)


class Dropout:
    def __call__(self, x):
        return x


class Linear:
    def __init__(self, cin, cout):
        self.weight = rng.normal(0, 0.3, (cout, cin)).astype(np.float32)
        self.bias = rng.normal(0, 0.1, cout).astype(np.float32)

    def __call__(self, x):
        return (self.weight.astype(np.float64) @ x.reshape(-1) + self.bias).reshape(-1, 1, 1)


# --- NumPy reference operators on one [C, H, W] sample ---------------------------------------
def windows(x, kernel, stride, padding, fill):
    x = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=fill)
    v = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(1, 2))
    return v[:, ::stride[0], ::stride[1]]  # [C, OH, OW, kh, kw]


def conv2d(x, w, stride, padding):
    v = windows(x, w.shape[2:], stride, padding, 0.0)
    return np.einsum("chwij,ocij->ohw", v, w)


def pool(x, kind, kernel, stride, padding):
    if kind == "max":
        return windows(x, kernel, stride, padding, -np.inf).max(axis=(3, 4))
    return windows(x, kernel, stride, padding, 0.0).mean(axis=(3, 4))  # padding counts as zeros


def run_loaded(layers, dump_dir, x):
    """Forward pass of the model as the C++ reader understood it."""
    outputs = []
    for i, l in enumerate(layers):
        src = x if l["input"] == -1 else outputs[l["input"]]
        w = np.load(os.path.join(dump_dir, f"{i}.weight.npy")).astype(np.float64) if l["has_weight"] else None
        b = np.load(os.path.join(dump_dir, f"{i}.bias.npy")).astype(np.float64) if l["has_bias"] else 0.0
        op = l["op"]
        if op == "conv2d":
            y = conv2d(src, w, l["stride"], l["padding"]) + np.reshape(b, (-1, 1, 1))
        elif op == "linear":
            y = (w @ src.reshape(-1) + b).reshape(-1, 1, 1)
        elif op == "relu":
            y = np.maximum(src, 0)
        elif op in ("max_pool2d", "avg_pool2d"):
            y = pool(src, op[:3], l["kernel"], l["stride"], l["padding"])
        elif op == "global_avg_pool":
            y = src.mean(axis=(1, 2), keepdims=True)
        elif op == "flatten":
            y = src.reshape(-1, 1, 1)
        elif op == "add":
            y = src + (x if l["other"] == -1 else outputs[l["other"]])
        else:
            raise AssertionError("unknown op " + op)
        check(list(y.shape) == l["output_shape"], f"layer {l['name']}: C++ says shape {l['output_shape']}, "
                                                    f"the NumPy pass gives {list(y.shape)}")
        outputs.append(y)
    return outputs[-1]


def dump(tool, model_dir, out_dir):
    r = subprocess.run([tool, model_dir, out_dir], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", required=True, help="the float_model_dump executable")
    parser.add_argument("--examples", required=True, help="the examples/ directory")
    args = parser.parse_args()
    sys.path.insert(0, args.examples)
    import export_pytorch as ex

    block2_short = Sequential(Conv2d(4, 8, 1, stride=2, bias=False), BatchNorm2d(8))
    model = Sequential(
        Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU(), MaxPool2d(2),
        ex.Residual(Sequential(Conv2d(4, 4, 3, padding=1, bias=False), BatchNorm2d(4), ReLU(),
                               Conv2d(4, 4, 3, padding=1))),
        ReLU(),
        ex.Residual(Sequential(Conv2d(4, 8, 3, stride=2, padding=1)), block2_short),
        AvgPool2d(3, stride=1, padding=1),
        Sequential(AdaptiveAvgPool2d(1), Flatten(), Dropout()), Linear(8, 10))

    work = tempfile.mkdtemp(prefix="rmsmp_export_test_")
    try:
        model_dir, dump_dir = os.path.join(work, "model"), os.path.join(work, "dump")
        ex.export_model(model, model_dir, [1, 12, 12], scale=1 / 255, offset=-0.25,
                        classes=[f"class {i}" for i in range(10)])
        code, out, err = dump(args.dump, model_dir, dump_dir)
        if code != 0:
            print("FAIL: the C++ reader rejected the exported model: " + err)
            return 1
        loaded = json.loads(out)
        layers = loaded["layers"]
        manifest = json.load(open(os.path.join(model_dir, "model.json")))

        # Layer sequence and shapes, by hand: 12x12 -conv p1-> 12 -pool2-> 6 -block1-> 6
        # -block2 (stride 2, k3 p1: (6+2-3)//2+1 = 3; 1x1 s2: (6-1)//2+1 = 3)-> 3 -avg k3 s1 p1-> 3.
        expected = [
            ("0", "conv2d", [4, 12, 12]), ("2", "relu", [4, 12, 12]), ("3", "max_pool2d", [4, 6, 6]),
            ("4.body.0", "conv2d", [4, 6, 6]), ("4.body.2", "relu", [4, 6, 6]), ("4.body.3", "conv2d", [4, 6, 6]),
            ("4.add", "add", [4, 6, 6]), ("5", "relu", [4, 6, 6]),
            ("6.body.0", "conv2d", [8, 3, 3]), ("6.shortcut.0", "conv2d", [8, 3, 3]), ("6.add", "add", [8, 3, 3]),
            ("7", "avg_pool2d", [8, 3, 3]), ("8.0", "global_avg_pool", [8, 1, 1]), ("8.1", "flatten", [8, 1, 1]),
            ("9", "linear", [10, 1, 1])]
        got = [(l["name"], l["op"], l["output_shape"]) for l in layers]
        check(got == expected, f"layers: expected {expected}, C++ read {got}")
        names = [l["name"] for l in layers]
        check(layers[names.index("4.add")]["other"] == names.index("3"), "block 1's shortcut must be the pool output")
        check(layers[names.index("6.shortcut.0")]["input"] == names.index("5"), "block 2's shortcut reads relu 5")
        check(loaded["input"] == {"shape": [1, 12, 12], "scale": np.float32(1 / 255).item(), "offset": -0.25},
              f"input spec read as {loaded['input']}")
        check(loaded["classes"] == [f"class {i}" for i in range(10)], "class names")

        # Every tensor C++ read equals the exported file bit for bit.
        for i, (l, m) in enumerate(zip(layers, manifest["layers"])):
            for kind in ("weight", "bias"):
                if kind in m:
                    exported = np.load(os.path.join(model_dir, m[kind]))
                    read = np.load(os.path.join(dump_dir, f"{i}.{kind}.npy"))
                    check(exported.dtype == np.dtype("<f4") and read.dtype == np.dtype("<f4"), f"{l['name']} dtype")
                    check(exported.shape == read.shape and np.array_equal(exported, read),
                          f"{l['name']}.{kind}: C++ read different values than were exported")

        # Folding, checked against the textbook formula for the shortcut's bias-free conv + BN.
        bn = block2_short.modules[1]
        factor = bn.weight.astype(np.float64) / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
        i = names.index("6.shortcut.0")
        w = np.load(os.path.join(dump_dir, f"{i}.weight.npy"))
        b = np.load(os.path.join(dump_dir, f"{i}.bias.npy"))
        check(np.allclose(w, block2_short.modules[0].weight * factor.reshape(-1, 1, 1, 1), rtol=1e-6, atol=1e-7),
              "folded weight")
        check(np.allclose(b, bn.bias - bn.running_mean * factor, rtol=1e-6, atol=1e-7), "folded bias")

        # Whole-model agreement on random inputs.
        for trial in range(3):
            x = rng.uniform(-1, 1, (1, 12, 12))
            want = model(x)
            have = run_loaded(layers, dump_dir, x)
            check(np.allclose(have, want, rtol=1e-4, atol=1e-5),
                  f"forward pass {trial}: max difference {np.abs(have - want).max()}")

        # The exporter refuses what it cannot express.
        def refuses(make, text):
            try:
                make()
            except ValueError as e:
                check(text in str(e), f"expected refusal containing {text!r}, got {e}")
                return
            check(False, f"expected a refusal containing {text!r}")

        bad_dir = os.path.join(work, "bad")
        refuses(lambda: ex.export_model(Sequential(Conv2d(2, 4, 3, groups=2)), bad_dir, [2, 5, 5]), "grouped")
        refuses(lambda: ex.export_model(Sequential(ReLU(), BatchNorm2d(1)), bad_dir, [1, 5, 5]), "must directly follow")
        refuses(lambda: ex.export_model(Sequential(Conv2d(1, 1, 1), ex.Residual(Sequential(BatchNorm2d(1)))),
                                        bad_dir, [1, 5, 5]), "feeds another branch")
        refuses(lambda: ex.export_model(Sequential(object()), bad_dir, [1, 5, 5]), "not supported")
        builder = ex.ManifestBuilder([3])
        builder.relu("r")
        refuses(lambda: builder.relu("r"), "used twice")
        refuses(lambda: builder.linear("l", [[float("nan")] * 3]), "non-finite")

        # A model the exporter writes but that does not fit together is refused by C++, naming the layer.
        builder = ex.ManifestBuilder([1, 4, 4])
        builder.flatten("f")
        builder.linear("fc", np.ones((2, 15), np.float32))
        builder.save(bad_dir)
        code, _, err = dump(args.dump, bad_dir, os.path.join(work, "bad_dump"))
        check(code == 1 and "layer 1 'fc' (linear): weight shape [2, 15] expects 15 inputs but its input has 16" in err,
              f"C++ should refuse the mismatched linear layer, said: {err.strip()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("export_pytorch: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
