"""Reference optimum for tests/main/engine/methods/logisticRegression.test.ts.

sklearn-style multinomial logistic regression, C * sum CE + 0.5 ||W||^2 (bias unpenalised), minimised in
float64 with torch.optim.LBFGS (strong Wolfe) to a tight tolerance. Data come from closed formulas the
test reproduces in TS. Run: /usr/bin/python3 scripts/ref/logreg_reference.py  (Debian's torch 1.13)
"""
import json
import math

import torch

torch.set_default_dtype(torch.float64)
N, D, K, C = 60, 5, 3, 0.5
X = torch.tensor([[0.8 * (j == i % K) + math.sin(1.3 * i + 0.7 * j + 0.4) for j in range(D)] for i in range(N)])
y = torch.tensor([i % K for i in range(N)])
W = torch.zeros(K, D, requires_grad=True)
b = torch.zeros(K, requires_grad=True)
opt = torch.optim.LBFGS([W, b], lr=1, max_iter=10000, tolerance_grad=1e-12, tolerance_change=1e-15,
                        history_size=20, line_search_fn="strong_wolfe")


def objective():
    opt.zero_grad()
    f = C * torch.nn.functional.cross_entropy(X @ W.T + b, y, reduction="sum") + 0.5 * (W ** 2).sum()
    f.backward()
    return f


for _ in range(5):
    opt.step(objective)
f = objective()
print(json.dumps({"C": C, "W": W.detach().reshape(-1).tolist(), "b": (b - b.mean()).detach().tolist(),
                  "objective": f.item(), "gradMax": max(W.grad.abs().max().item(), b.grad.abs().max().item())}))
