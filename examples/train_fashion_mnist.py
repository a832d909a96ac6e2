#!/usr/bin/python3
"""Train the demo's float models on Fashion-MNIST and export them in rmsmp's model format.

Two small networks, trained in float32 on CPU:

* ``fashion_cnn``: conv 3x3 (1->16) ReLU maxpool 2, conv 3x3 (16->32) ReLU maxpool 2,
  flatten, linear 1568->64 ReLU, linear 64->10.
* ``fashion_mlp``: flatten, linear 784->128 ReLU, linear 128->64 ReLU, linear 64->10.

Inputs are the raw uint8 pixels times 1/255 (the manifest's input scale), so the demo feeds
the IDX bytes unchanged. Each model is written to OUT_DIR/<name>/ (model.json + .npy files)
by examples/export_pytorch.py, and its float accuracy on the full 10k test set is printed.

Needs PyTorch (Debian: python3-torch) and NumPy; the demo that uses the exported files does
not. Run from the repository root:

    /usr/bin/python3 examples/train_fashion_mnist.py --out examples/models
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_pytorch import export_model  # noqa: E402  (examples/export_pytorch.py)

DATA_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    """An IDX file (gzip) as a NumPy array: images [N, 28, 28] uint8 or labels [N] uint8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08: unsigned byte elements
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # [N, 1, 28, 28]
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


def mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, batch, lr, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        start, total = time.time(), 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - start:.0f} s)", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="examples/models", help="directory for the model folders")
    parser.add_argument("--data", default=DATA_DIR, help="folder with the Fashion-MNIST IDX .gz files")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads")
    parser.add_argument("--cnn-epochs", type=int, default=4)
    parser.add_argument("--mlp-epochs", type=int, default=8)
    parser.add_argument("--only", choices=["cnn", "mlp"], help="train one model only")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    jobs = [("fashion_cnn", cnn, args.cnn_epochs), ("fashion_mlp", mlp, args.mlp_epochs)]
    for name, make, epochs in jobs:
        if args.only and not name.endswith(args.only):
            continue
        print(f"{name}: training {epochs} epochs on {len(x_train)} images", flush=True)
        model = make()
        train(model, x_train, y_train, epochs, batch=128, lr=1e-3, seed=1)
        acc = accuracy(model, x_test, y_test)
        path = export_model(model, os.path.join(args.out, name), [1, 28, 28], scale=1.0 / 255.0, classes=CLASSES)
        print(f"{name}: float test accuracy {100 * acc:.2f}% on {len(x_test)} images -> {path}", flush=True)


if __name__ == "__main__":
    main()
