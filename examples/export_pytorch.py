#!/usr/bin/env python3
"""Export a float network to rmsmp's float-model format: model.json plus one .npy per tensor.

The format is described in docs/model-format.md. Two ways in:

* ``ManifestBuilder`` (NumPy only): add layers one by one with NumPy weights in PyTorch
  layouts (Linear [out, in], Conv2d [out, in, kh, kw]) and ``save()`` the directory.
* ``export_model(module, out_dir, input_shape, ...)`` walks a PyTorch module: ``nn.Sequential``
  (nested too) of Linear, Conv2d, BatchNorm2d (folded into the Conv2d before it), ReLU,
  MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, Dropout/Identity (skipped), and
  ``Residual(body, shortcut=None)`` blocks for ResNet-style skip connections (``shortcut=None``
  is the identity; a module such as a strided 1x1 conv + BatchNorm is a downsampling path).
  Anything else raises ``ValueError`` naming the module: no silent approximation.

Modules are recognised by class name and attributes, so PyTorch is only needed to build the
model; this file imports without it.

Command line (needs PyTorch): ``python3 export_pytorch.py --demo OUT_DIR`` exports a small
untrained ResNet-style CNN for 1 x 28 x 28 inputs (Fashion-MNIST) to OUT_DIR.
"""

import argparse
import json
import os
import re
import sys

import numpy as np

FORMAT = "rmsmp-float-model"
VERSION = 1
MODEL_INPUT = "input"  # the name by which layers refer to the model's input


def _pair(value, what):
    """An int or a pair of ints (PyTorch's kernel/stride/padding), as [h, w]."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair, got {value!r}")
        h, w = value
    else:
        h = w = value
    if isinstance(h, str) or isinstance(w, str):
        raise ValueError(f"{what} {value!r} is not supported (only explicit integers)")
    return [int(h), int(w)]


def _numpy(tensor):
    """A torch tensor or array-like as a float64 NumPy array (folding happens in float64)."""
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().cpu().numpy()
    return np.asarray(tensor, dtype=np.float64)


class ManifestBuilder:
    """Collects layers and writes the model directory. Layer methods return the layer's name.

    Every method takes ``input``: the name of the layer it reads (``"input"`` for the model
    input); by default the layer added just before.
    """

    def __init__(self, input_shape, scale=1.0, offset=0.0, classes=None):
        shape = [int(d) for d in input_shape]
        if len(shape) not in (1, 3) or min(shape) < 1:
            raise ValueError(f"input_shape must be [C, H, W] or [N] of positive sizes, got {input_shape!r}")
        self.input = {"shape": shape, "scale": float(scale), "offset": float(offset)}
        self.classes = list(classes) if classes is not None else None
        self.layers = []
        self.tensors = {}  # file name -> float32 array
        self.last = MODEL_INPUT
        self.shared = set()  # layers whose output several branches read: nothing may fold into them

    # -- layers ---------------------------------------------------------------------------
    def linear(self, name, weight, bias=None, input=None):
        weight = np.asarray(weight)
        if weight.ndim != 2:
            raise ValueError(f"{name}: linear weight must be [out, in], got shape {weight.shape}")
        return self._add({"op": "linear", "name": name}, input, weight, bias)

    def conv2d(self, name, weight, bias=None, stride=1, padding=0, input=None):
        weight = np.asarray(weight)
        if weight.ndim != 4:
            raise ValueError(f"{name}: conv2d weight must be [out, in, kh, kw], got shape {weight.shape}")
        layer = {"op": "conv2d", "name": name, "stride": _pair(stride, f"{name}: stride"),
                 "padding": _pair(padding, f"{name}: padding")}
        return self._add(layer, input, weight, bias)

    def fold_batch_norm(self, conv_name, gamma, beta, mean, var, eps):
        """Folds y = gamma * (x - mean) / sqrt(var + eps) + beta into the conv2d/linear
        `conv_name` (which must be the layer the batch norm reads)."""
        layer = next((l for l in self.layers if l["name"] == conv_name), None)
        if layer is None or layer["op"] not in ("conv2d", "linear") or conv_name != self.last:
            raise ValueError(f"batch norm after {conv_name!r}: it must directly follow a conv2d or linear layer")
        if conv_name in self.shared:
            raise ValueError(f"batch norm after {conv_name!r}: that output also feeds another branch, "
                             "so the batch norm cannot be folded into it")
        w = self.tensors[layer["weight"]].astype(np.float64)
        b = self.tensors[layer["bias"]].astype(np.float64) if "bias" in layer else np.zeros(w.shape[0])
        factor = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + float(eps))
        w = w * factor.reshape((-1,) + (1,) * (w.ndim - 1))
        b = (b - np.asarray(mean, np.float64)) * factor + np.asarray(beta, np.float64)
        self.tensors[layer["weight"]] = np.ascontiguousarray(w, dtype="<f4")
        if "bias" not in layer:
            layer["bias"] = self._file_name(conv_name, "bias")
        self.tensors[layer["bias"]] = np.ascontiguousarray(b, dtype="<f4")

    def relu(self, name, input=None):
        return self._add({"op": "relu", "name": name}, input)

    def max_pool2d(self, name, kernel, stride=None, padding=0, input=None):
        return self._pool("max_pool2d", name, kernel, stride, padding, input)

    def avg_pool2d(self, name, kernel, stride=None, padding=0, input=None):
        return self._pool("avg_pool2d", name, kernel, stride, padding, input)

    def global_avg_pool(self, name, input=None):
        return self._add({"op": "global_avg_pool", "name": name}, input)

    def flatten(self, name, input=None):
        return self._add({"op": "flatten", "name": name}, input)

    def add(self, name, input, other):
        return self._add({"op": "add", "name": name, "other": other}, input)

    # -- output ---------------------------------------------------------------------------
    def manifest(self):
        m = {"format": FORMAT, "version": VERSION, "input": self.input}
        if self.classes is not None:
            m["classes"] = self.classes
        m["layers"] = self.layers
        return m

    def save(self, out_dir):
        """Writes out_dir/model.json and the .npy files (float32, little-endian, C order)."""
        if not self.layers:
            raise ValueError("the model has no layers")
        os.makedirs(out_dir, exist_ok=True)
        for file_name, array in self.tensors.items():
            np.save(os.path.join(out_dir, file_name), array, allow_pickle=False)
        with open(os.path.join(out_dir, "model.json"), "w", encoding="utf-8") as f:
            json.dump(self.manifest(), f, indent=2)
            f.write("\n")
        return os.path.join(out_dir, "model.json")

    # -- internals ------------------------------------------------------------------------
    def _pool(self, op, name, kernel, stride, padding, input):
        kernel = _pair(kernel, f"{name}: kernel")
        stride = kernel if stride is None else _pair(stride, f"{name}: stride")
        layer = {"op": op, "name": name, "kernel": kernel, "stride": stride,
                 "padding": _pair(padding, f"{name}: padding")}
        return self._add(layer, input)

    def _file_name(self, layer_name, kind):
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", layer_name)
        name = f"{stem}.{kind}.npy"
        n = 1
        while name in self.tensors:
            name = f"{stem}.{kind}.{n}.npy"
            n += 1
        return name

    def _add(self, layer, input, weight=None, bias=None):
        name = layer["name"]
        if not isinstance(name, str) or not name or name == MODEL_INPUT:
            raise ValueError(f"layer name {name!r} is empty or reserved")
        if any(l["name"] == name for l in self.layers):
            raise ValueError(f"layer name {name!r} is used twice")
        source = self.last if input is None else input
        if source != self.last:
            layer = {"op": layer["op"], "name": name, "input": source,
                     **{k: v for k, v in layer.items() if k not in ("op", "name")}}
        for kind, tensor in (("weight", weight), ("bias", bias)):
            if tensor is None:
                continue
            array = np.ascontiguousarray(np.asarray(tensor, dtype=np.float64), dtype="<f4")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name}: {kind} has non-finite values")
            file_name = self._file_name(name, kind)
            self.tensors[file_name] = array
            layer[kind] = file_name
        self.layers.append(layer)
        self.last = name
        return name


# --- PyTorch modules ------------------------------------------------------------------------

try:  # Residual is an nn.Module when PyTorch is there, a plain holder otherwise.
    import torch.nn as _nn

    class Residual(_nn.Module):
        """y = body(x) + shortcut(x); shortcut None is the identity."""

        def __init__(self, body, shortcut=None):
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x):
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))
except ImportError:  # pragma: no cover - depends on the machine
    _nn = None

    class Residual:
        """y = body(x) + shortcut(x); shortcut None is the identity."""

        def __init__(self, body, shortcut=None):
            self.body = body
            self.shortcut = shortcut

        def __call__(self, x):
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def _children(module):
    if hasattr(module, "named_children"):
        return list(module.named_children())
    return [(str(i), m) for i, m in enumerate(module)]


def _export(module, builder, name, source):
    """Adds `module` reading layer `source`; returns the name of its last layer."""
    kind = type(module).__name__
    where = f"{name or 'model'} ({kind})"
    prefix = f"{name}." if name else ""

    def attr(key, default=None):
        return getattr(module, key, default)

    if kind == "Sequential" or isinstance(module, (list, tuple)):
        for child_name, child in _children(module):
            source = _export(child, builder, prefix + child_name, source)
        return source
    if kind == "Residual" or isinstance(module, Residual):
        builder.shared.add(source)
        body_out = _export(module.body, builder, prefix + "body", source)
        short_out = source if module.shortcut is None else _export(module.shortcut, builder, prefix + "shortcut", source)
        return builder.add(prefix + "add", input=body_out, other=short_out)
    if kind == "Linear":
        return builder.linear(name, _numpy(module.weight), None if attr("bias") is None else _numpy(module.bias), source)
    if kind == "Conv2d":
        if attr("groups", 1) != 1 or _pair(attr("dilation", 1), where) != [1, 1]:
            raise ValueError(f"{where}: grouped or dilated convolutions are not supported")
        if attr("padding_mode", "zeros") != "zeros":
            raise ValueError(f"{where}: padding_mode {attr('padding_mode')!r} is not supported (only 'zeros')")
        return builder.conv2d(name, _numpy(module.weight), None if attr("bias") is None else _numpy(module.bias),
                              attr("stride", 1), attr("padding", 0), source)
    if kind == "BatchNorm2d":
        if attr("running_mean") is None:
            raise ValueError(f"{where}: batch norm without running statistics cannot be folded")
        gamma = _numpy(module.weight) if attr("weight") is not None else 1.0
        beta = _numpy(module.bias) if attr("bias") is not None else 0.0
        builder.fold_batch_norm(source, gamma, beta, _numpy(module.running_mean), _numpy(module.running_var),
                                attr("eps", 1e-5))
        return source
    if kind == "ReLU":
        return builder.relu(name, source)
    if kind in ("MaxPool2d", "AvgPool2d"):
        if attr("ceil_mode", False):
            raise ValueError(f"{where}: ceil_mode=True is not supported")
        if kind == "MaxPool2d" and _pair(attr("dilation", 1), where) != [1, 1]:
            raise ValueError(f"{where}: dilation is not supported")
        if kind == "AvgPool2d" and (not attr("count_include_pad", True) or attr("divisor_override") is not None):
            raise ValueError(f"{where}: rmsmp averages over the full kernel (count_include_pad=True, no divisor_override)")
        pool = builder.max_pool2d if kind == "MaxPool2d" else builder.avg_pool2d
        return pool(name, attr("kernel_size"), attr("stride") or None, attr("padding", 0), source)
    if kind == "AdaptiveAvgPool2d":
        if _pair(attr("output_size"), where) != [1, 1]:
            raise ValueError(f"{where}: only output_size 1 (global average pooling) is supported")
        return builder.global_avg_pool(name, source)
    if kind == "Flatten":
        if attr("start_dim", 1) != 1 or attr("end_dim", -1) != -1:
            raise ValueError(f"{where}: only Flatten(start_dim=1, end_dim=-1) is supported")
        return builder.flatten(name, source)
    if kind in ("Dropout", "Identity"):
        return source
    raise ValueError(f"{where}: module type {kind} is not supported by the rmsmp exporter")


def export_model(module, out_dir, input_shape, scale=1.0, offset=0.0, classes=None):
    """Writes `module` (in eval mode: batch norm uses its running statistics) to out_dir.

    input_shape: per-sample [C, H, W] or [N]; raw input values become raw * scale + offset.
    Returns the path of the written model.json.
    """
    if hasattr(module, "eval"):
        module.eval()
    builder = ManifestBuilder(input_shape, scale, offset, classes)
    _export(module, builder, "", MODEL_INPUT)
    return builder.save(out_dir)


FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def demo_model():
    """A small ResNet-style CNN for 1 x 28 x 28 inputs (untrained)."""
    import torch.nn as nn

    def conv_bn(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        Residual(nn.Sequential(conv_bn(16, 32, 2), nn.ReLU(), conv_bn(32, 32, 1)),
                 nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", metavar="OUT_DIR", required=True,
                        help="export the built-in demo CNN (needs PyTorch) to OUT_DIR")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("export_pytorch.py: --demo needs PyTorch (pip install torch, or Debian python3-torch)", file=sys.stderr)
        return 1
    path = export_model(demo_model(), args.demo, [1, 28, 28], scale=1.0 / 255.0, classes=FASHION_MNIST_CLASSES)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
