"""Reference numbers for tests/main/engine/train/sgd.test.ts (torch.optim.SGD + CosineAnnealingLR).

Run: /usr/bin/python3 scripts/ref/sgd_reference.py   (Debian's torch 1.13)
Parameters and gradients come from closed formulas the test reproduces in TS.
"""
import json
import math

import torch

torch.set_default_dtype(torch.float64)


def init(n, phase):
    return torch.tensor([math.cos(phase + 0.21 * i) for i in range(n)])


def grad(n, step, phase):
    return torch.tensor([math.sin(phase + 0.37 * i + 1.1 * step) for i in range(n)])


w = torch.nn.Parameter(init(6, 0.5).reshape(2, 3))
b = torch.nn.Parameter(init(3, 1.5))
opt = torch.optim.SGD(
    [{"params": [w], "lr": 0.1}, {"params": [b], "lr": 1.0, "weight_decay": 0.0}],
    lr=0.1, momentum=0.9, weight_decay=0.01,
)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
lrs = []
for step in range(4):  # one optimiser step per "epoch", scheduler stepped after each
    lrs.append([g["lr"] for g in opt.param_groups])
    w.grad = grad(6, step, 1.0).reshape(2, 3)
    b.grad = grad(3, step, 2.0)
    opt.step()
    sched.step()

base = torch.nn.Parameter(torch.zeros(1))
o2 = torch.optim.SGD([base], lr=0.1, momentum=0.9)
s2 = torch.optim.lr_scheduler.CosineAnnealingLR(o2, T_max=20)
cos20 = []
for _ in range(20):
    cos20.append(o2.param_groups[0]["lr"])
    o2.step()
    s2.step()

print(json.dumps({
    "lrs": lrs,
    "w": w.detach().reshape(-1).tolist(),
    "b": b.detach().tolist(),
    "bufW": opt.state[w]["momentum_buffer"].reshape(-1).tolist(),
    "cos20": cos20,
}))
