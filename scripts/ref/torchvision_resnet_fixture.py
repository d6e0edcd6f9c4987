#!/usr/bin/python3
"""PyTorch reference for the torchvision ResNet port (no pretrained weights are available offline).

Run with Debian's python (python3-torch 1.13; torchvision is not installed, so the architecture is
written out here exactly as torchvision.models.resnet defines it: v1.5 bottleneck, stride on conv2):
    /usr/bin/python3 scripts/ref/torchvision_resnet_fixture.py
Every state-dict tensor (state_dict order, k = its index) is filled with a deterministic formula that
tests/main/engine/models/torchvisionParity.test.ts reproduces:
    conv / linear weight: sqrt(2 / fan_in) * sqrt(2) * sin(0.7 * i + 1.3 * k)   (i = flat index)
    linear bias, BN bias: 0.1 * sin(0.7 * i + 1.3 * k); BN weight: 1 + 0.1 * sin(...)
    running_mean: 0.1 * sin(...); running_var: 1 + 0.5 * sin(...)^2
Input x[n, c, h, w] = 0.5 * sin(0.3 h + 0.7 w + 1.1 c + 2.3 n) + 0.2 * cos(0.013 h w), 2 x 3 x 64 x 64.
Writes tests/fixtures/bn-conversion/torchvision_resnet.json: eval logits + features for resnet18 and
resnet50, and for resnet18 the train-mode logits and running stats after that one train forward.
Computed in float64.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "bn-conversion", "torchvision_resnet.json")


def conv3x3(i, o, s=1):
    return nn.Conv2d(i, o, 3, s, 1, bias=False)


def conv1x1(i, o, s=1):
    return nn.Conv2d(i, o, 1, s, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + idt)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def fill(model):
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    new = {}
    for k_idx, (name, t) in enumerate(sd.items()):
        n = t.numel()
        s = torch.sin(0.7 * torch.arange(n, dtype=torch.float64) + 1.3 * k_idx).reshape(t.shape)
        if name.endswith("running_var"):
            v = 1 + 0.5 * s * s
        elif name.endswith("running_mean") or name.endswith("bias"):
            v = 0.1 * s
        elif t.dim() == 1:  # BN weight
            v = 1 + 0.1 * s
        else:
            fan_in = n // t.shape[0]
            v = math.sqrt(2 / fan_in) * math.sqrt(2) * s
        new[name] = v
    model.load_state_dict(new, strict=False)
    return list(sd.keys())


def make_input():
    n, c, h, w = torch.meshgrid(*[torch.arange(d, dtype=torch.float64) for d in (2, 3, 64, 64)], indexing="ij")
    return 0.5 * torch.sin(0.3 * h + 0.7 * w + 1.1 * c + 2.3 * n) + 0.2 * torch.cos(0.013 * h * w)


def r(t):
    return [float(f"{v:.10g}") for v in t.reshape(-1).tolist()]


def main():
    torch.manual_seed(0)
    x = make_input()
    out = {"about": "scripts/ref/torchvision_resnet_fixture.py (torch %s, float64)" % torch.__version__, "models": {}}
    for arch, block, layers in [("resnet18", BasicBlock, [2, 2, 2, 2]), ("resnet50", Bottleneck, [3, 4, 6, 3])]:
        model = ResNet(block, layers, 10).double()
        keys = fill(model)
        model.eval()
        with torch.no_grad():
            entry = {"keys": keys, "eval_features": r(model.features(x)), "eval_logits": r(model(x))}
            if arch == "resnet18":
                model.train()
                entry["train_logits"] = r(model(x))
                sd = model.state_dict()
                entry["after_train"] = {k: r(sd[k]) for k in ["bn1.running_mean", "bn1.running_var", "layer4.1.bn2.running_var", "layer3.0.downsample.1.running_mean"]}
        out["models"][arch] = entry
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
