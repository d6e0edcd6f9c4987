#!/usr/bin/python3
"""PyTorch reference for DAFT's BN conversion (Algorithm 1) on the CIFAR resnet20 checkpoint.

Run with Debian's python (it sees python3-torch 1.13):
    /usr/bin/python3 scripts/ref/bn_conversion_fixture.py
Writes tests/fixtures/bn-conversion/resnet20_mnistm.json with, for two batchings of the same 50
MNIST-M train images (first 5 per class by sorted name; PIL RGB -> [0,1] -> ImageNet normalisation,
32x32 as is): the converted gamma/beta/running_mean/running_var of every BN layer, plus eval-mode
logits before conversion. Computed in float64. torch.load is used on the (trusted) checkpoint only.
A third case, "augmented", converts on the project's augmented training batches of the same images
(RandomCrop 32 pad 4 + flip, as a run's conversion pass sees them): their uint8 pixels come from
`npx tsx scripts/ref/augmented-batches.ts` (tests/fixtures/bn-conversion/resnet20_mnistm_augmented.u8),
run that first.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
CKPT = os.path.join(DATA, "models", "cifar-resnet", "resnet20-12fca82f.th")
IMAGES = os.path.join(DATA, "digits", "mnist_m", "train")
OUT = os.path.join(ROOT, "tests", "fixtures", "bn-conversion", "resnet20_mnistm.json")
AUG = os.path.join(ROOT, "tests", "fixtures", "bn-conversion", "resnet20_mnistm_augmented.u8")
PER_CLASS = 5
BATCHINGS = {"one_batch": [50], "unequal": [16, 16, 12, 6]}
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or in_planes != planes) else None

    def shortcut(self, x):
        if self.pad is None:
            return x
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for s, planes in enumerate([16, 32, 64]):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(in_planes, planes, 2 if (i == 0 and s > 0) else 1))
                in_planes = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


def load_model():
    ckpt = torch.load(CKPT, map_location="cpu")
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in ckpt["state_dict"].items()}
    model = ResNet(3)
    model.load_state_dict(sd)
    return model.double().eval()


def image_list():
    files = []
    for cls in sorted(os.listdir(IMAGES)):
        names = sorted(os.listdir(os.path.join(IMAGES, cls)))[:PER_CLASS]
        files += [f"{cls}/{n}" for n in names]
    return files


def load_images(files):
    arr = []
    for f in files:
        img = np.asarray(Image.open(os.path.join(IMAGES, f)).convert("RGB"), dtype=np.float64) / 255.0
        arr.append((img - MEAN) / STD)
    return torch.from_numpy(np.stack(arr).transpose(0, 3, 1, 2).copy())


def convert(model, x, sizes):
    """Algorithm 1: eval-mode pass, per-batch channel mean and unbiased variance of every BN input."""
    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    stats = {n: [] for n, _ in bns}
    hooks = []
    for name, bn in bns:
        def hook(mod, inp, _out, name=name):
            z = inp[0]
            stats[name].append((z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=True)))
        hooks.append(bn.register_forward_hook(hook))
    with torch.no_grad():
        start = 0
        for s in sizes:
            model(x[start:start + s])
            start += s
    for h in hooks:
        h.remove()
    out = {}
    with torch.no_grad():
        for name, bn in bns:
            mt = torch.stack([m for m, _ in stats[name]]).mean(0)
            st = torch.stack([v for _, v in stats[name]]).mean(0)
            sd_s = torch.sqrt(bn.running_var + bn.eps)
            gamma_t = bn.weight * torch.sqrt(st + bn.eps) / sd_s
            beta_t = bn.bias + bn.weight * (mt - bn.running_mean) / sd_s
            out[name] = {"weight": gamma_t, "bias": beta_t, "running_mean": mt, "running_var": st}
    return out


def r(t):
    return [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]


def main():
    files = image_list()
    x = load_images(files)
    assert x.shape == (50, 3, 32, 32), x.shape
    model = load_model()
    with torch.no_grad():
        logits = model(x)
    fixture = {
        "about": "DAFT BN conversion reference: scripts/ref/bn_conversion_fixture.py (torch %s, float64)" % torch.__version__,
        "checkpoint": "models/cifar-resnet/resnet20-12fca82f.th",
        "images_root": "digits/mnist_m/train",
        "images": files,
        "preprocessing": {"mean": MEAN.tolist(), "std": STD.tolist(), "range": [0, 1]},
        "logits_before": r(logits),
        "cases": {},
    }
    for case, sizes in BATCHINGS.items():
        assert sum(sizes) == len(files)
        conv = convert(load_model(), x, sizes)
        fixture["cases"][case] = {"batch_sizes": sizes, "layers": {n: {k: r(v) for k, v in d.items()} for n, d in conv.items()}}
    # the augmented training pipeline's batches (made by the project's loader), normalised here as above
    meta = json.load(open(AUG + ".json"))
    sizes = meta["sizes"]
    raw = np.fromfile(AUG, dtype=np.uint8).astype(np.float64).reshape(sum(sizes), 32, 32, 3) / 255.0
    xa = torch.from_numpy(((raw - MEAN) / STD).transpose(0, 3, 1, 2).copy())
    conv = convert(load_model(), xa, sizes)
    fixture["cases"]["augmented"] = {"batch_sizes": sizes, "pipeline": meta["pipeline"], "layers": {n: {k: r(v) for k, v in d.items()} for n, d in conv.items()}}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes), {len(conv)} BN layers", file=sys.stderr)


if __name__ == "__main__":
    main()
