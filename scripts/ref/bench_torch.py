#!/usr/bin/python3
"""PyTorch side of `npm run bench:engine -- --vs-torch` (never a runtime dependency of the app).

Run with Debian's python (python3-torch 1.13; the ResNets are written out here as torchvision / Idelbayev define
them; mobilenetv2 is torchvision's mobilenet_v2(width_mult=0.35) and needs python3-torchvision):
    /usr/bin/python3 scripts/ref/bench_torch.py --model resnet20 --image-size 32 --batch 64 --mode train \
        --steps 5 [--micro-batch 8] [--threads 2] [--channels-last]
PyTorch runs with its default threading (OMP_WAIT_POLICY is left to the caller); --channels-last converts the model and
the input to torch.channels_last (PyTorch's faster layout on CPU for convolutions).
Prints one JSON line: {"model", "image_size", "batch", "micro_batch", "mode", "layout", "img_s", "seconds", "cpu_img_s"
(images per CPU-second of all threads), "steps", "peak_rss_mb"}. Training = SGD(momentum 0.9) step on softmax cross-entropy with BN in train mode (the gradients
of `batch` images accumulated over micro-batches of `micro_batch`); inference = eval-mode forward under no_grad.
Random data, random init: only speed matters here.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- CIFAR ResNet (option-A shortcuts), as in Y. Idelbayev's repository ----
class CifarBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or in_planes != planes) else 0

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad)) if self.pad else x
        return F.relu(out + sc)


class CifarResNet(nn.Module):
    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(CifarBlock(cin, planes, stride if i == 0 else 1))
                cin = planes
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.linear(x.mean((2, 3)))


# ---- torchvision ResNet-18 / 50 (v1.5: stride on the 3x3 conv of the bottleneck) ----
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + idt)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(x.mean((2, 3), keepdim=True), 1))


def build(model, num_classes):
    if model == "resnet20":
        return CifarResNet(3, num_classes)
    if model == "resnet18":
        return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)
    if model == "resnet50":
        return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)
    if model == "mobilenetv2":
        import torchvision

        return torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=num_classes)
    raise SystemExit(f"bench_torch.py: unknown model '{model}' (resnet20, resnet18, resnet50, mobilenetv2)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--image-size", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--micro-batch", type=int, default=0)
    ap.add_argument("--mode", choices=("train", "infer"), required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = build(a.model, a.classes)
    micro = a.micro_batch if 0 < a.micro_batch < a.batch else a.batch
    x = torch.rand(a.batch, 3, a.image_size, a.image_size)
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, a.classes, (a.batch,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step():
        if a.mode == "infer":
            net.eval()
            with torch.no_grad():
                net(x).sum().item()
            return
        net.train()
        opt.zero_grad()
        for s in range(0, a.batch, micro):
            xb, yb = x[s:s + micro], y[s:s + micro]
            loss = F.cross_entropy(net(xb), yb) * (xb.shape[0] / a.batch)
            loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - t0
    cpu_secs = time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "model": a.model, "image_size": a.image_size, "batch": a.batch, "micro_batch": micro, "mode": a.mode,
        "layout": "channels_last" if a.channels_last else "nchw", "img_s": a.batch * a.steps / secs, "seconds": secs,
        "cpu_img_s": a.batch * a.steps / cpu_secs, "cpu_seconds": cpu_secs, "steps": a.steps, "peak_rss_mb": rss_mb,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
