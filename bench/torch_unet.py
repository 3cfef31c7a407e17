"""The Quorum U-Net (shared/src/model/unet.ts) in PyTorch, timed the same way as bench/train.ts.

Usage: python3 bench/torch_unet.py DEPTH BASE BATCHNORM(0/1) THREADS  -> one JSON line
Train step: batch 4 of 256x256, soft Dice + BCE, Adam. Forward: 1 of 512x512, eval mode, no grad.
"""
import json
import sys
import time

import torch
import torch.nn as nn


def block(cin, cout, bn):
    layers = []
    for i in range(2):
        layers.append(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    def __init__(self, depth, base, bn):
        super().__init__()
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        self.upconv = nn.ModuleList()
        cin = 1
        for level in range(depth):
            self.down.append(block(cin, base * 2**level, bn))
            cin = base * 2**level
        self.bottom = block(cin, base * 2**depth, bn)
        cin = base * 2**depth
        for level in reversed(range(depth)):
            f = base * 2**level
            self.upconv.append(nn.ConvTranspose2d(cin, f, 2, stride=2))
            self.up.append(block(2 * f, f, bn))
            cin = f
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for b in self.down:
            x = b(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottom(x)
        for upconv, b in zip(self.upconv, self.up):
            x = upconv(x)
            x = b(torch.cat([skips.pop(), x], 1))
        return torch.sigmoid(self.head(x))


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    depth, base, bn, threads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = UNet(depth, base, bn)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.rand(4, 1, 256, 256)
    y = (torch.rand(4, 1, 256, 256) > 0.5).float()

    def step():
        opt.zero_grad()
        p = net(x)
        inter = (p * y).sum((1, 2, 3))
        dice = 1 - ((2 * inter + 1e-6) / (p.sum((1, 2, 3)) + y.sum((1, 2, 3)) + 1e-6)).mean()
        loss = dice + nn.functional.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y)
        loss.backward()
        opt.step()

    net.train()
    step()
    steps = []
    for _ in range(5):
        t = time.perf_counter()
        step()
        steps.append((time.perf_counter() - t) * 1000)
    net.eval()
    big = torch.rand(1, 1, 512, 512)
    with torch.no_grad():
        net(big)
        fwd = []
        for _ in range(5):
            t = time.perf_counter()
            net(big)
            fwd.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "trainStepMs": median(steps), "forward512Ms": median(fwd),
                      "params": sum(p.numel() for p in net.parameters())}))


main()
