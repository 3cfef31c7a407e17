#!/usr/bin/env python3
"""Quorum experiment: does a contour output channel + contour-seeded watershed beat the distance watershed?

Variants (each a 12-member mode-fold ensemble; A and B also get 3 pooled single-U-Net baselines):
  A  depth 3, 8 filters, no BN, foreground only (the project's current recipe)
  B  as A plus a contour output (Dice+BCE on each channel)
  C  as A at paper size: depth 4, 32 filters, BatchNorm
  D  as B at paper size
  E  as A, with the foreground target cut between touching objects (pixels whose 3x3 neighbourhood holds another
     object become background), so the network learns to leave gaps the components and watershed can use
  F  as E with a 5x5 neighbourhood
Pooled baselines of C and D run last, only if the time budget allows (--pooled-cd to force them into order).

Everything the project does in TypeScript that matters for the comparison is mirrored here: PNG -> one channel
(channels.ts 'auto'), percentile 1/99.8 normalisation (percentile.ts), the U-Net (unet.ts, TF.js initialisers),
the augmentation (augment.ts), Dice+BCE loss (loss.ts), tiled validation with early stopping (member.ts,
validate.ts, tiling/plan.ts, tiling/blend.ts), the post-processing (postprocess/*.ts) and the metrics
(metrics/*.ts, report headline = mean over images). See README.md for what differs.

Usage:  python3 exp.py [--variants A,B,C,D] [--out DIR] [--quick] [--time-budget SECONDS] [--workers N]
"""
import argparse
import concurrent.futures as cf
import csv
import hashlib
import json
import math
import os
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage as ndi
from skimage.morphology import reconstruction
from skimage.segmentation import watershed

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUNDLED = os.path.join(REPO, 'models', 'dsb2018-fluo')

# ---------------------------------------------------------------------------------------------------------------
# Recipe (models/dsb2018-fluo/train-config.json)
# ---------------------------------------------------------------------------------------------------------------
RECIPE = dict(patch=128, batch=4, steps_per_epoch=20, epochs=40, patience=8, lr=1e-3, adam_eps=1e-7,
              intensity_jitter=0.1, geometric=True, tile=256, halo=16, blend='gaussian', threshold=0.5,
              norm_low=1.0, norm_high=99.8, loss_eps=1e-6, bn_eps=1e-3, bn_momentum_keras=0.99)
VARIANTS = {
    'A': dict(depth=3, base=8, bn=False, contour=False),
    'B': dict(depth=3, base=8, bn=False, contour=True),
    'C': dict(depth=4, base=32, bn=True, contour=False),
    'D': dict(depth=4, base=32, bn=True, contour=True),
    # A with gaps cut between touching objects in the foreground target (3x3 / 5x5 neighbourhood of another label)
    'E': dict(depth=3, base=8, bn=False, contour=False, gap=3),
    'F': dict(depth=3, base=8, bn=False, contour=False, gap=5),
    # A trained for twice the steps per epoch (the CPU budget the faster WASM kernels freed)
    'G': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2),
    # A + a second output learning each object's distance to its border, normalised to 1 at its centre; the
    # contour watershed then floods 1 - distance from the cores where distance > 1 - t
    'H': dict(depth=3, base=8, bn=False, contour=True, ctarget='distance'),
    'I': dict(depth=3, base=8, bn=False, contour=True, ctarget='distance', steps_mult=2),
    # G + the U-Net paper's border weights on the cross-entropy (w0 10, sigma 5 px), with and without gaps cut
    'J': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, gap=3, border_weight=True),
    'K': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, border_weight=True),
    # J with 5x5 gaps; G and J again from other member seeds (how much of a difference is the draw)
    'L': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, gap=5, border_weight=True),
    'G1': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, seed_base=1),
    'J1': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, gap=3, border_weight=True, seed_base=1),
    # J at the recipe's steps (is it the weights or the steps?), and J with twice the border weight
    'N': dict(depth=3, base=8, bn=False, contour=False, gap=3, border_weight=True),
    'M': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, gap=3, border_weight=True, w0=20.0),
    # J with more capacity or context: the paper-size net, 16 base filters, 256-px patches
    'P': dict(depth=4, base=32, bn=True, contour=False, steps_mult=2, gap=3, border_weight=True),
    'R': dict(depth=3, base=16, bn=False, contour=False, steps_mult=2, gap=3, border_weight=True),
    'Q': dict(depth=3, base=8, bn=False, contour=False, steps_mult=2, gap=3, border_weight=True, patch=256),
}
BORDER_W0, BORDER_SIGMA = 10.0, 5.0
POOLED_SEEDS = [0, 1, 2]
# Post-processing grids
DIST_H, DIST_SIGMA, PROJECT_MIN_AREA = 0.25, 1.5, 32
MIN_AREAS = [0, 16, 32]
CONTOUR_T = [0.3, 0.4, 0.5, 0.6, 0.7]
SURFACES = ['contour', 'one_minus_fg']
# What the project's report says (models/dsb2018-fluo/report, uint8-quantised weights, TF.js)
REFERENCE_TS = {
    'ensemble_mean_rule': {'dice': 0.9083497502361427, 'iou': 0.8351549460769867, 'object_f1': 0.7896803872468907,
                           'pr_auc': 0.9719020853481681, 'pooled_dice': 0.9197},
    'pooled_single_mean_of_3_seeds': {'dice': 0.8933, 'iou': 0.8113, 'object_f1': 0.7479, 'pr_auc': 0.9498},
    'member_val_dice': {'small-f0': 0.6457, 'small-f1': 0.9472, 'small-f2': 0.9508, 'square256-f0': 0.9188,
                        'square256-f1': 0.9329, 'square256-f2': 0.9333, 'tall519-f0': 0.8773,
                        'tall519-f1': 0.8803, 'tall519-f2': 0.862, 'wide512-f0': 0.9439, 'wide512-f1': 0.9201,
                        'wide512-f2': 0.9432},
    'pooled_val_dice': {'0': 0.8724},
    'oof_distance_h0.25_s1.5_min32_object_f1_note': 'split-choice.json: chosen on out-of-fold predictions',
}


def log(msg, t0=None):
    stamp = '' if t0 is None else f'[{time.time() - t0:7.1f}s] '
    print(stamp + msg, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Data: decoding (image/channels.ts), normalisation (normalize/percentile.ts), contour targets
# ---------------------------------------------------------------------------------------------------------------
def to_single_channel(im):
    """channels.ts toSingleChannel(image, 'auto'): channel 0 when all colour channels are equal, else Rec.601 luma
    rounded half up and clamped (integer images); alpha ignored."""
    if im.mode == 'P':
        im = im.convert('RGBA' if 'transparency' in im.info else 'RGB')
    a = np.asarray(im)
    if a.ndim == 2:
        return a
    alpha = im.mode in ('RGBA', 'LA', 'La', 'RGBa', 'PA')
    colours = a.shape[2] - (1 if alpha else 0)
    if colours == 1 or all(np.array_equal(a[..., c], a[..., 0]) for c in range(1, colours)):
        return a[..., 0].copy()
    if colours != 3:
        raise ValueError(f'{colours} different colour channels: no luminance')
    lum = 0.299 * a[..., 0].astype(np.float64) + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    if np.issubdtype(a.dtype, np.floating):
        return lum.astype(a.dtype)
    mx = 65535 if a.dtype.itemsize == 2 else 255
    return np.minimum(mx, np.floor(lum + 0.5)).astype(a.dtype)  # Math.round on non-negative values


def percentile_sorted(sorted_vals, q):
    """percentile.ts percentileSorted: numpy 'linear' rank, computed as a + frac * (b - a)."""
    n = len(sorted_vals)
    rank = (q / 100) * (n - 1)
    i = math.floor(rank)
    frac = rank - i
    a = float(sorted_vals[i])
    return a if frac == 0 or i + 1 >= n else a + frac * (float(sorted_vals[i + 1]) - a)


def normalize_percentile(raw, low, high):
    """normalizePercentile on imageToFloat(raw): float path (sorted sample, stride 1 below 4 Mpx), clip, float32."""
    flat = raw.astype(np.float32).ravel().astype(np.float64)
    step = max(1, math.ceil(flat.size / (1 << 22)))
    sample = np.sort(flat[::step])
    lo, hi = percentile_sorted(sample, low), percentile_sorted(sample, high)
    span = hi - lo
    if span <= 0:
        return np.zeros(raw.shape, np.float32)
    return np.clip((raw.astype(np.float32).astype(np.float64) - lo) * (1 / span), 0, 1).astype(np.float32)


def contour_target(labels):
    """Foreground pixel whose 3x3 neighbourhood (inside the image) holds another label or background."""
    fp = np.ones((3, 3), bool)
    mx = ndi.maximum_filter(labels, footprint=fp, mode='nearest')
    mn = ndi.minimum_filter(labels, footprint=fp, mode='nearest')
    return ((labels > 0) & ((mx != labels) | (mn != labels))).astype(np.uint8)


def distance_target(labels):
    """Each object's Euclidean distance to its border (another label or background), divided by the object's
    largest: 1 at its centre, small at its rim, 0 on the background."""
    out = np.zeros(labels.shape, np.float32)
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        sl = tuple(slice(max(0, a.start - 1), a.stop + 1) for a in sl)
        inside = labels[sl] == k
        d = ndi.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1]
        m = d[inside].max()
        if m > 0:
            out[sl][inside] = (d[inside] / m).astype(np.float32)
    return out


def border_weights(labels, w0=BORDER_W0, sigma=BORDER_SIGMA):
    """Ronneberger et al. 2015, eq. 2 without the class-balance term: 1 + w0 exp(-(d1 + d2)^2 / 2 sigma^2) on
    the background, d1 and d2 the distances to the nearest and second-nearest object (farther than 4 sigma:
    no weight)."""
    H, W = labels.shape
    reach = int(4 * sigma)
    d1 = np.full(labels.shape, np.inf)
    d2 = np.full(labels.shape, np.inf)
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        win = (slice(max(0, sl[0].start - reach), min(H, sl[0].stop + reach)),
               slice(max(0, sl[1].start - reach), min(W, sl[1].stop + reach)))
        d = ndi.distance_transform_edt(labels[win] != k)
        a, b = d1[win], d2[win]
        nearer = d < a
        b[:] = np.where(nearer, a, np.minimum(b, d))
        a[:] = np.where(nearer, d, a)
    w = 1 + w0 * np.exp(-np.square(d1 + d2) / (2 * sigma * sigma))
    w[labels > 0] = 1
    return w.astype(np.float32)


def contour_map(arch, prob):
    """The second output as the contour watershed reads it (high on borders): the contour probability, or
    1 - the predicted normalised distance."""
    if not arch['contour']:
        return None
    return 1 - prob[1] if arch.get('ctarget') == 'distance' else prob[1]


def gap_target(labels, size):
    """Foreground minus pixels whose size x size neighbourhood holds another (nonzero) label."""
    fp = np.ones((size, size), bool)
    big = np.where(labels > 0, labels, -1)
    mx = ndi.maximum_filter(big, footprint=fp, mode='nearest')
    small = np.where(labels > 0, labels, np.iinfo(np.int32).max)
    mn = ndi.minimum_filter(small, footprint=fp, mode='nearest')
    touch = (labels > 0) & ((mx > labels) | (mn < labels))
    return ((labels > 0) & ~touch).astype(np.uint8)


def load_samples(data_dir, norm_low=RECIPE['norm_low'], norm_high=RECIPE['norm_high'], splits=('train', 'test')):
    rows = list(csv.DictReader(open(os.path.join(data_dir, 'metadata.csv'), newline='')))
    out = {}
    for r in rows:
        if r['split'] not in splits:
            continue
        raw = to_single_channel(Image.open(os.path.join(data_dir, 'images', r['id'] + '.png')))
        m = np.asarray(Image.open(os.path.join(data_dir, 'masks', r['id'] + '.png')))
        if m.ndim == 3:
            m = m[..., 0]
        labels = np.where(m > 0, np.round(m), 0).astype(np.int32)
        if labels.max() <= 1:  # evaluate.ts truthLabels: a binary mask's objects are its 8-components
            labels = ndi.label(labels > 0, structure=np.ones((3, 3)))[0].astype(np.int32)
        if raw.shape != labels.shape:
            raise ValueError(f'{r["id"]}: image {raw.shape} vs mask {labels.shape}')
        out[r['id']] = dict(id=r['id'], mode=r['acquisition'], split=r['split'], H=raw.shape[0], W=raw.shape[1],
                            image=normalize_percentile(raw, norm_low, norm_high), labels=labels,
                            fg=(labels > 0).astype(np.uint8), contour=contour_target(labels),
                            dist=distance_target(labels), border_w=border_weights(labels),
                            gap3=gap_target(labels, 3), gap5=gap_target(labels, 5))
    return out


def member_plans(partition_path):
    """shared/src/folds/partition.ts planMembers."""
    part = json.load(open(partition_path))
    plans = []
    for mode in part['modes']:
        for k, held in enumerate(mode['folds']):
            train = sorted(i for f, ids in enumerate(mode['folds']) if f != k for i in ids)
            slug = ''.join(c if c.isalnum() else '-' for c in mode['name'].lower()).strip('-') or 'mode'
            plans.append(dict(id=f'{slug}-f{k}', mode=mode['name'], fold=k, train_ids=train,
                              val_ids=sorted(held)))
    return plans


def member_seed(base, member_id):
    return int.from_bytes(hashlib.sha256(f'quorum-exp:{base}:{member_id}'.encode()).digest()[:4], 'big') & 0x7FFFFFFF


# ---------------------------------------------------------------------------------------------------------------
# Model (shared/src/model/unet.ts)
# ---------------------------------------------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self, cin, cout, bn):
        super().__init__()
        layers = []
        for i in range(2):
            layers.append(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=not bn))
            if bn:  # Keras/TF.js defaults: momentum 0.99 (= torch 0.01), epsilon 1e-3
                layers.append(nn.BatchNorm2d(cout, eps=RECIPE['bn_eps'], momentum=1 - RECIPE['bn_momentum_keras']))
            layers.append(nn.ReLU(inplace=True))
        self.seq = nn.Sequential(*layers)

    def forward(self, x):
        return self.seq(x)


class UNet(nn.Module):
    def __init__(self, depth, base, bn, contour):
        super().__init__()
        self.depth = depth
        f = [base * 2 ** l for l in range(depth + 1)]
        self.down = nn.ModuleList([Block(1 if l == 0 else f[l - 1], f[l], bn) for l in range(depth)])
        self.bottom = Block(f[depth - 1], f[depth], bn)
        # index i handles level depth-1-i (the order they are applied)
        self.up = nn.ModuleList([nn.ConvTranspose2d(f[l + 1], f[l], 2, stride=2) for l in reversed(range(depth))])
        self.upblock = nn.ModuleList([Block(2 * f[l], f[l], bn) for l in reversed(range(depth))])
        self.head = nn.Conv2d(base, 2 if contour else 1, 1)

    def forward(self, x):
        skips = []
        for blk in self.down:
            x = blk(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for i in range(self.depth):
            x = self.up[i](x)
            x = torch.cat([skips[self.depth - 1 - i], x], 1)
            x = self.upblock[i](x)
        return torch.sigmoid(self.head(x))


def _trunc_normal(rng, shape, std):
    """TF.js VarianceScaling 'normal' = truncatedNormal(0, std): redraw values beyond 2 std."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return z * std


def init_weights(model, rng):
    """He-normal (truncated, TF.js fans) for convs and transposed convs, Glorot-uniform head, zero biases; BN
    gamma 1, beta 0 (torch defaults). TF.js conv2dTranspose kernels are [k, k, filters, in]: fan_in = filters*k*k."""
    with torch.no_grad():
        for mod in model.modules():
            if mod is model.head:
                fan_in, fan_out = mod.in_channels, mod.out_channels
                lim = math.sqrt(6 / (fan_in + fan_out))
                mod.weight.copy_(torch.from_numpy(rng.uniform(-lim, lim, tuple(mod.weight.shape))))
                mod.bias.zero_()
            elif isinstance(mod, nn.ConvTranspose2d):
                fan_in = mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]
                mod.weight.copy_(torch.from_numpy(_trunc_normal(rng, tuple(mod.weight.shape), math.sqrt(2 / fan_in))))
                mod.bias.zero_()
            elif isinstance(mod, nn.Conv2d):
                fan_in = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
                mod.weight.copy_(torch.from_numpy(_trunc_normal(rng, tuple(mod.weight.shape), math.sqrt(2 / fan_in))))
                if mod.bias is not None:
                    mod.bias.zero_()


def build_model(arch, seed, device):
    torch.manual_seed(seed)
    model = UNet(arch['depth'], arch['base'], arch['bn'], arch['contour'])
    init_weights(model, np.random.default_rng([seed, 0]))
    return model.to(device)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def seg_loss(pred, target, eps=RECIPE['loss_eps'], weight=None):
    """train/src/training/loss.ts: soft Dice per sample (averaged) + BCE (mean), weights 1 and 1."""
    inter = (target * pred).sum((1, 2, 3))
    denom = target.sum((1, 2, 3)) + pred.sum((1, 2, 3))
    dice = 1 - ((2 * inter + eps) / (denom + eps)).mean()
    p = pred.clamp(eps, 1 - eps)
    bce = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
    bce = (bce * weight).mean() if weight is not None else bce.mean()
    return dice + bce


# ---------------------------------------------------------------------------------------------------------------
# Tiled inference (shared/src/tiling/plan.ts, blend.ts, inference/pipeline.ts)
# ---------------------------------------------------------------------------------------------------------------
def js_round(x):
    return math.floor(x + 0.5)


def round_up(n, m):
    return -(-n // m) * m


def axis_starts(size, tile, halo, multiple):
    if size <= tile:
        return tile, [0]
    count = math.ceil((size - 2 * halo) / (tile - 2 * halo))
    length = min(tile, round_up(math.ceil((size - 2 * halo) / count) + 2 * halo, multiple))
    return length, [js_round(k * (size - length) / (count - 1)) for k in range(count)]


def plan_tiles(W, H, tile, halo, multiple):
    tw, xs = axis_starts(W, min(tile, round_up(W, multiple)), halo, multiple)
    th, ys = axis_starts(H, min(tile, round_up(H, multiple)), halo, multiple)
    return tw, th, [(x, y) for y in ys for x in xs]


def reflect_index(i, n):
    """plan.ts reflectIndex (numpy 'reflect'), vectorised."""
    i = np.asarray(i)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    m = np.mod(i, period)
    return np.where(m < n, m, period - m)


def axis_weights(length):
    i = np.arange(length, dtype=np.float64)
    sigma = length / 8
    d = i - (length - 1) / 2
    return np.maximum(1e-3, np.exp(-(d * d) / (2 * sigma * sigma))).astype(np.float32)


class Tiler:
    """One image's tile plan, windows (on the device) and blend weights: predict(model) -> (C, H, W)."""

    def __init__(self, image, multiple, device, tile=RECIPE['tile'], halo=RECIPE['halo']):
        H, W = image.shape
        self.H, self.W = H, W
        tw, th, wins = plan_tiles(W, H, tile, halo, multiple)
        tiles = np.stack([image[np.ix_(reflect_index(y + np.arange(th), H), reflect_index(x + np.arange(tw), W))]
                          for (x, y) in wins]).astype(np.float32)
        self.tiles = torch.from_numpy(tiles[:, None]).to(device)
        self.wins = [(x, y, min(th, H - y), min(tw, W - x)) for (x, y) in wins]
        wt = np.outer(axis_weights(th), axis_weights(tw)).astype(np.float32)
        wsum = np.zeros((H, W), np.float32)
        for (x, y, h, w) in self.wins:
            wsum[y:y + h, x:x + w] += wt[:h, :w]
        self.wt = torch.from_numpy(wt).to(device)
        self.inv = torch.from_numpy((1 / wsum.astype(np.float64)).astype(np.float32)).to(device)
        self.single = len(wins) == 1

    def predict(self, model, chunk=16):
        outs = [model(self.tiles[i:i + chunk]) for i in range(0, self.tiles.shape[0], chunk)]
        out = outs[0] if len(outs) == 1 else torch.cat(outs, 0)
        if self.single:
            return out[0, :, :self.H, :self.W]
        acc = torch.zeros((out.shape[1], self.H, self.W), dtype=out.dtype, device=out.device)
        for i, (x, y, h, w) in enumerate(self.wins):
            acc[:, y:y + h, x:x + w] += self.wt[:h, :w] * out[i, :, :h, :w]
        return acc * self.inv


# ---------------------------------------------------------------------------------------------------------------
# Training one member (train/src/training/member.ts, augment.ts, validate.ts)
# ---------------------------------------------------------------------------------------------------------------
def _pad_reflect_to(a, p):
    H, W = a.shape
    if H >= p and W >= p:
        return a
    return a[np.ix_(reflect_index(np.arange(max(H, p)), H), reflect_index(np.arange(max(W, p)), W))]


def train_member(job, samples, device, progress=None):
    """Train one model; returns its record and best-epoch weights (numpy). Depends only on `job` (its seed, ids,
    architecture) - not on which process or which other members run beside it."""
    arch, seed = job['arch'], job['seed']
    p, B, S = arch.get('patch', RECIPE['patch']), RECIPE['batch'], job['steps'] * arch.get('steps_mult', 1)
    jitter = RECIPE['intensity_jitter']
    contour = arch['contour']
    started = time.time()
    if job.get('deadline') and time.time() > job['deadline']:
        return dict(id=job['id'], skipped=True)
    model = build_model(arch, seed, device)
    opt = None
    if str(device).startswith('cuda'):
        try:
            opt = torch.optim.Adam(model.parameters(), lr=RECIPE['lr'], eps=RECIPE['adam_eps'], fused=True)
        except (TypeError, RuntimeError):
            opt = None
    if opt is None:
        opt = torch.optim.Adam(model.parameters(), lr=RECIPE['lr'], eps=RECIPE['adam_eps'])

    train = [samples[i] for i in job['train_ids']]
    Hs = np.array([s['H'] for s in train])
    Ws = np.array([s['W'] for s in train])
    Hm, Wm = max(max(Hs), p), max(max(Ws), p)
    imgs = np.zeros((len(train), Hm, Wm), np.float32)
    fgs = np.zeros((len(train), Hm, Wm), np.uint8)
    ckey = 'dist' if arch.get('ctarget') == 'distance' else 'contour'
    cts = np.zeros((len(train), Hm, Wm), np.float32 if ckey == 'dist' else np.uint8)
    bw = arch.get('border_weight', False)
    wts = np.ones((len(train), Hm, Wm), np.float32) if bw else None
    for k, s in enumerate(train):
        if bw:
            a = _pad_reflect_to(border_weights(s['labels'], w0=arch['w0']) if 'w0' in arch else s['border_w'], p)
            wts[k, :a.shape[0], :a.shape[1]] = a
        fgkey = f"gap{arch['gap']}" if arch.get('gap') else 'fg'
        for arr, key in ((imgs, 'image'), (fgs, fgkey), (cts, ckey)):
            a = _pad_reflect_to(s[key], p)
            arr[k, :a.shape[0], :a.shape[1]] = a
    imgs_t = torch.from_numpy(imgs).to(device)
    fgs_t = torch.from_numpy(fgs).to(device)
    cts_t = torch.from_numpy(cts).to(device) if contour else None
    wts_t = torch.from_numpy(wts).to(device) if bw else None
    multiple = 2 ** arch['depth']
    vals = [(Tiler(samples[i]['image'], multiple, device), torch.from_numpy(samples[i]['fg'] > 0).to(device))
            for i in job['val_ids']]
    ar = torch.arange(p, device=device)
    Yg, Xg = ar.view(1, p, 1), ar.view(1, 1, p)

    best_dice, best_epoch, since_best, epoch = -1.0, -1, 0, 0
    best_state, history, losses, truncated, failed = None, [], [], False, None
    while epoch < job['epochs'] and since_best < RECIPE['patience']:
        if job.get('deadline') and time.time() > job['deadline']:
            truncated = True
            break
        # Each epoch draws from its own seeded stream (as member.ts forks `epoch:<n>`).
        rng = np.random.default_rng([seed, 1, epoch])
        n = rng.integers(0, len(train), size=S * B)
        x0 = rng.integers(0, np.maximum(Ws[n] - p + 1, 1))
        y0 = rng.integers(0, np.maximum(Hs[n] - p + 1, 1))
        sym = rng.integers(0, 8, size=S * B) if RECIPE['geometric'] else np.zeros(S * B, np.int64)
        gain = 1 + (rng.random(S * B) * 2 - 1) * jitter
        offset = (rng.random(S * B) * 2 - 1) * jitter * 0.5
        # Build the epoch's S*B patches in one gather on the device (augment.ts samplePatch, vectorised).
        nt = torch.from_numpy(n).to(device).view(-1, 1, 1)
        x0t = torch.from_numpy(x0).to(device).view(-1, 1, 1)
        y0t = torch.from_numpy(y0).to(device).view(-1, 1, 1)
        symt = torch.from_numpy(sym).to(device).view(-1, 1, 1)
        tr, fx, fy = (symt & 4) != 0, (symt & 1) != 0, (symt & 2) != 0
        U = torch.where(tr, Yg, Xg)
        V = torch.where(tr, Xg, Yg)
        U = torch.where(fx, p - 1 - U, U)
        V = torch.where(fy, p - 1 - V, V)
        rows, cols = y0t + V, x0t + U
        g = torch.from_numpy(gain.astype(np.float32)).to(device).view(-1, 1, 1)
        o = torch.from_numpy(offset.astype(np.float32)).to(device).view(-1, 1, 1)
        xs = (imgs_t[nt, rows, cols] * g + o).unsqueeze(1)
        ys = fgs_t[nt, rows, cols].unsqueeze(1).float()
        cs = cts_t[nt, rows, cols].unsqueeze(1).float() if contour else None
        ws = wts_t[nt, rows, cols].unsqueeze(1) if bw else None
        t_ep = time.time()
        loss_sum = torch.zeros((), device=device)
        model.train()
        for s in range(S):
            sl = slice(s * B, (s + 1) * B)
            pred = model(xs[sl])
            loss = seg_loss(pred[:, :1], ys[sl], weight=ws[sl] if bw else None)
            if contour:
                loss = loss + seg_loss(pred[:, 1:2], cs[sl])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        # Validation: pooled Dice of the thresholded full-image (tiled) foreground on the held-out fold.
        model.eval()
        with torch.no_grad():
            tp = torch.zeros((), device=device, dtype=torch.int64)
            fp = torch.zeros_like(tp)
            fn = torch.zeros_like(tp)
            for tiler, truth in vals:
                pr = tiler.predict(model)[0] > RECIPE['threshold']
                tp += (pr & truth).sum()
                fp += (pr & ~truth).sum()
                fn += (~pr & truth).sum()
            tp, fp, fn, lsum = (float(v) for v in torch.stack([tp.double(), fp.double(), fn.double(),
                                                                 loss_sum.double()]).tolist())
        dice = 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
        epoch += 1
        history.append(round(dice, 6))
        losses.append(round(lsum / S, 6))
        if not math.isfinite(lsum):
            failed = f'loss became {lsum} at epoch {epoch}'
            break
        if dice > best_dice:
            best_dice, best_epoch, since_best = dice, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
        if progress:
            progress(f'  {job["variant"]} {job["id"]} epoch {epoch}: loss {lsum / S:.4f} val dice {dice:.4f} '
                     f'(best {best_dice:.4f} @ {best_epoch}) {time.time() - t_ep:.2f}s')
    if best_state is None:
        best_state = model.state_dict()
    ended = time.time()
    return dict(id=job['id'], variant=job['variant'], kind=job['kind'], skipped=False, val_dice=best_dice,
                best_epoch=best_epoch, epochs=epoch, seconds=round(ended - started, 3), truncated=truncated,
                started_at=started, ended_at=ended,
                failed=failed, val_history=history, loss_history=losses, seed=seed,
                params=count_params(model),
                state={k: v.detach().cpu().numpy() for k, v in best_state.items()})


# Worker processes: each loads the training images once and trains jobs one after another.
_W = {}


def set_backend_flags(strict_fp32, deterministic):
    if strict_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def _worker_init(data_dir, device, threads, strict_fp32=False, deterministic=False):
    torch.set_num_threads(threads)
    set_backend_flags(strict_fp32, deterministic)
    _W['samples'] = load_samples(data_dir, splits=('train',))  # never the test images
    _W['device'] = device
    if device.startswith('cuda'):
        torch.cuda.init()


def _worker_run(job):
    try:
        pr = (lambda s: print(s, flush=True)) if job.get('verbose') else None
        return train_member(job, _W['samples'], _W['device'], pr)
    except Exception:
        return dict(id=job['id'], variant=job['variant'], kind=job['kind'], skipped=False,
                    error=traceback.format_exc())


# ---------------------------------------------------------------------------------------------------------------
# Post-processing (shared/src/postprocess/*.ts)
# ---------------------------------------------------------------------------------------------------------------
EIGHT = np.ones((3, 3), bool)


def base_mask(prob_fg, threshold=RECIPE['threshold']):
    """threshold (strict) then fill holes (4-connected background, as scipy's default)."""
    return ndi.binary_fill_holes(prob_fg > threshold)


def h_maxima(img, h):
    """h-maxima.ts = skimage.morphology.h_maxima with its float tolerance, 8-connected."""
    if img.size == 0 or h > img.max() - img.min():
        return np.zeros(img.shape, bool)
    shifted = img - h - 2 * 1e-15 * np.abs(img)
    rec = reconstruction(shifted, img, method='dilation')
    return (img - rec) >= h


def split_touching(mask, seeds, relief):
    """split.ts splitTouching: 8-connected markers, watershed (8-neighbour) restricted to the mask, mask
    components no marker reaches become objects of their own."""
    markers, nm = ndi.label(seeds & mask, structure=EIGHT)
    flooded = watershed(relief, markers, mask=mask, connectivity=2).astype(np.int32)
    rest = mask & (flooded == 0)
    if rest.any():
        extra, _ = ndi.label(rest, structure=EIGHT)
        flooded[extra > 0] = nm + extra[extra > 0]
    return flooded


def labels_components(mask):
    return ndi.label(mask, structure=EIGHT)[0].astype(np.int32)


def labels_distance(mask, h=DIST_H, sigma=DIST_SIGMA):
    if mask.all():
        dist = np.full(mask.shape, float(mask.shape[0] + mask.shape[1]))
    else:
        dist = ndi.distance_transform_edt(mask)
    if sigma > 0:
        dist = ndi.gaussian_filter(dist, sigma, mode='reflect', truncate=4.0)
    peaks = h_maxima(dist, h)
    return split_touching(mask, peaks, -dist)


def labels_contour(mask, contour_prob, fg_prob, t, surface):
    relief = contour_prob.astype(np.float64) if surface == 'contour' else 1 - fg_prob.astype(np.float64)
    return split_touching(mask, mask & (contour_prob < t), relief)


# ---------------------------------------------------------------------------------------------------------------
# Metrics (shared/src/metrics/*.ts)
# ---------------------------------------------------------------------------------------------------------------
def average_precision(score, truth):
    """pr.ts prAuc = scikit-learn average_precision_score (ties are one threshold)."""
    s = np.asarray(score, np.float32).ravel()
    t = np.asarray(truth).ravel() != 0
    P = int(t.sum())
    if P == 0:
        return 0.0
    order = np.argsort(-s, kind='stable')
    ss, ts = s[order], t[order]
    ends = np.r_[np.nonzero(np.diff(ss))[0], ss.size - 1]
    tps = np.cumsum(ts, dtype=np.int64)[ends].astype(np.float64)
    fps = (ends + 1) - tps
    dtp = np.diff(np.r_[0.0, tps])
    return float((dtp * tps / (tps + fps)).sum() / P)


def ratio(a, b, agree_empty):
    return a / b if b > 0 else (1.0 if agree_empty else 0.0)


def label_scores(labels, truth_labels, min_areas):
    """Pixel and object (IoU > 0.5, one-to-one, greedy) counts after dropping objects under each min area, from
    one matching (as tune-split.ts filteredF1s; dropping objects changes no other object's IoU)."""
    L = labels.ravel().astype(np.int64)
    T = truth_labels.ravel().astype(np.int64)
    nl, nt_ = int(L.max()) if L.size else 0, int(T.max()) if T.size else 0
    area = np.bincount(L, minlength=nl + 1)
    tarea = np.bincount(T, minlength=nt_ + 1)
    tfg = T > 0
    inter_fg = np.bincount(L, weights=tfg.astype(np.float64), minlength=nl + 1)
    both = (L > 0) & tfg
    keys = L[both] * (nt_ + 1) + T[both]
    uk, cnt = np.unique(keys, return_counts=True)
    pl, tl = uk // (nt_ + 1), uk % (nt_ + 1)
    iou = cnt / (area[pl] + tarea[tl] - cnt)
    cand = np.nonzero(iou > 0.5)[0]
    cand = cand[np.lexsort((tl[cand], pl[cand], -iou[cand]))]
    ptaken, ttaken = np.zeros(nl + 1, bool), np.zeros(nt_ + 1, bool)
    for c in cand:
        if not ptaken[pl[c]] and not ttaken[tl[c]]:
            ptaken[pl[c]] = ttaken[tl[c]] = True
    ids = np.arange(nl + 1)
    present = (area > 0) & (ids > 0)
    n_true = int(((tarea > 0) & (np.arange(nt_ + 1) > 0)).sum())
    truth_px = int(tfg.sum())
    out = {}
    for m in min_areas:
        kept = present & (area >= m) if m > 1 else present
        tp_px = float(inter_fg[kept].sum())
        fp_px = float(area[kept].sum()) - tp_px
        fn_px = truth_px - tp_px
        tp_o = int((kept & ptaken).sum())
        fp_o = int(kept.sum()) - tp_o
        fn_o = n_true - tp_o
        out[m] = dict(tp=tp_px, fp=fp_px, fn=fn_px, tn=float(L.size) - tp_px - fp_px - fn_px,
                      otp=tp_o, ofp=fp_o, ofn=fn_o, count=int(kept.sum()), true_count=n_true)
    return out


def image_metrics(c, ap):
    ae = c['tp'] + c['fp'] + c['fn'] == 0
    oe = c['otp'] + c['ofp'] + c['ofn'] == 0
    return dict(dice=ratio(2 * c['tp'], 2 * c['tp'] + c['fp'] + c['fn'], ae), iou=ratio(c['tp'], c['tp'] + c['fp'] + c['fn'], ae),
                obj_f1=ratio(2 * c['otp'], 2 * c['otp'] + c['ofp'] + c['ofn'], oe),
                obj_precision=ratio(c['otp'], c['otp'] + c['ofp'], oe), obj_recall=ratio(c['otp'], c['otp'] + c['ofn'], oe),
                pr_auc=ap, count=c['count'], true_count=c['true_count'], **{k: c[k] for k in ('tp', 'fp', 'fn', 'otp', 'ofp', 'ofn')})


def mean_std(v):
    v = [x for x in v if x is not None]
    n = len(v)
    if n == 0:
        return None, None
    m = sum(v) / n
    return m, (math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1)) if n > 1 else None)


def aggregate(per_image):
    """aggregate.ts: headline = mean over images (and sample std); pooled = counts summed over images."""
    out = dict(images=len(per_image))
    for k in ('dice', 'iou', 'obj_f1', 'obj_precision', 'obj_recall', 'pr_auc'):
        m, s = mean_std([r[k] for r in per_image])
        out[k] = m
        if k in ('dice', 'obj_f1'):
            out[k + '_std'] = s
    S = {k: sum(r[k] for r in per_image) for k in ('tp', 'fp', 'fn', 'otp', 'ofp', 'ofn', 'count', 'true_count')}
    pe = S['tp'] + S['fp'] + S['fn'] == 0
    oe = S['otp'] + S['ofp'] + S['ofn'] == 0
    out.update(pooled_dice=ratio(2 * S['tp'], 2 * S['tp'] + S['fp'] + S['fn'], pe),
               pooled_obj_precision=ratio(S['otp'], S['otp'] + S['ofp'], oe),
               pooled_obj_recall=ratio(S['otp'], S['otp'] + S['ofn'], oe),
               pooled_obj_f1=ratio(2 * S['otp'], 2 * S['otp'] + S['ofp'] + S['ofn'], oe),
               pred_count=S['count'], true_count=S['true_count'])
    return out


def config_key(method, min_area, t=None, surface=None):
    if method == 'contour':
        return f'contour(t={t},surface={surface},min_area={min_area})'
    return f'{method}(min_area={min_area})'


def score_image(fg, ct, truth_labels, with_contour, ap=None, contour_cfgs=None):
    """Every post-processing configuration on one image -> {config key: image metrics}. `contour_cfgs`: the
    (t, surface) pairs to run (default: the whole grid)."""
    mask = base_mask(fg)
    if ap is None:
        ap = average_precision(fg, truth_labels)
    # 'raw': threshold only (no hole filling, no split, no size filter), objects = 8-connected components
    raw = label_scores(labels_components(fg > RECIPE['threshold']), truth_labels, [0])[0]
    res = {'raw(threshold only)': image_metrics(raw, ap)}
    for method, lab in (('components', labels_components(mask)), ('distance', labels_distance(mask))):
        for m, c in label_scores(lab, truth_labels, MIN_AREAS).items():
            res[config_key(method, m)] = image_metrics(c, ap)
    if with_contour:
        cfgs = contour_cfgs if contour_cfgs is not None else [(t, s) for t in CONTOUR_T for s in SURFACES]
        for t, surf in cfgs:
            lab = labels_contour(mask, ct, fg, t, surf)
            for m, c in label_scores(lab, truth_labels, MIN_AREAS).items():
                res[config_key('contour', m, t, surf)] = image_metrics(c, ap)
    return res


def contour_grid():
    return [(t, s, m) for t in CONTOUR_T for s in SURFACES for m in MIN_AREAS]


# ---------------------------------------------------------------------------------------------------------------
# Evaluation of one variant
# ---------------------------------------------------------------------------------------------------------------
def load_model(arch, state, device):
    model = UNet(arch['depth'], arch['base'], arch['bn'], arch['contour'])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model.to(device).eval()


def predict_mean(models, tiler):
    with torch.no_grad():
        acc = None
        for m in models:
            out = tiler.predict(m)
            acc = out.clone() if acc is None else acc + out
        return (acc / len(models)).float().cpu().numpy()


def head_keys_for(contour_choice=None):
    keys = ['raw(threshold only)', config_key('components', PROJECT_MIN_AREA), config_key('distance', PROJECT_MIN_AREA)]
    return keys + ([contour_choice] if contour_choice else [])


def evaluate_ensemble(arch, members, samples, test_ids, oof_ids, device):
    """Mean of the members on the test split (every post-processing configuration) and the out-of-fold choice."""
    t_eval = time.time()
    multiple = 2 ** arch['depth']
    contour = arch['contour']
    models = [load_model(arch, r['state'], device) for r in members]
    res = dict()
    per_image = {}
    for iid in test_ids:
        s = samples[iid]
        prob = predict_mean(models, Tiler(s['image'], multiple, device))
        per_image[iid] = score_image(prob[0], contour_map(arch, prob), s['labels'], contour)
    keys = list(next(iter(per_image.values())).keys())
    test = {k: aggregate([per_image[i][k] for i in test_ids]) for k in keys}
    res['test'] = test
    # Out-of-fold predictions on the training split: each image by the members that never trained on it.
    oof_images = {}
    for iid in oof_ids:
        idx = [k for k, r in enumerate(members) if iid not in r['train_ids']]
        if not idx:
            continue
        s = samples[iid]
        prob = predict_mean([models[k] for k in idx], Tiler(s['image'], multiple, device))
        oof_images[iid] = score_image(prob[0], contour_map(arch, prob), s['labels'], contour)
    oof = dict(images=len(oof_images))
    if oof_images:
        n = len(oof_images)
        oof_f1 = {k: sum(v[k]['obj_f1'] for v in oof_images.values()) / n for k in keys}
        oof['object_f1'] = oof_f1
        oof['dice'] = {k: sum(v[k]['dice'] for v in oof_images.values()) / n for k in keys}
        if contour:
            grid = [config_key('contour', m, t, s) for (t, s, m) in contour_grid()]
            best = max(grid, key=lambda k: oof_f1[k])  # first in grid order on ties
            oof['contour_choice'] = dict(config=best, oof_object_f1=oof_f1[best], test=test[best])
        cands = [k for k in keys if not k.startswith('raw')]
        best_all = max(cands, key=lambda k: oof_f1[k])
        oof['choice_any_method'] = dict(config=best_all, oof_object_f1=oof_f1[best_all], test=test[best_all])
    res['oof'] = oof
    hk = head_keys_for(oof.get('contour_choice', {}).get('config'))
    modes = sorted({samples[i]['mode'] for i in test_ids})
    res['per_mode'] = {k: {md: {kk: v for kk, v in aggregate([per_image[i][k] for i in test_ids
                                                           if samples[i]['mode'] == md]).items()
                                if kk in ('images', 'dice', 'obj_f1', 'pred_count', 'true_count')}
                           for md in modes} for k in hk}
    res['per_image'] = {i: dict(mode=samples[i]['mode'], **{k: {kk: per_image[i][k][kk] for kk in
                                                                  ('dice', 'obj_f1', 'count', 'true_count')}
                                                              for k in hk}) for i in test_ids}
    res['eval_seconds'] = round(time.time() - t_eval, 2)
    del models
    if str(device).startswith('cuda'):
        torch.cuda.empty_cache()
    return res


def evaluate_pooled(arch, pooled, samples, test_ids, device, contour_choice=None):
    """Each pooled single U-Net on the test split: components, distance and (contour nets) the ensemble's
    out-of-fold contour choice; per seed and mean/std over seeds."""
    multiple = 2 ** arch['depth']
    contour = arch['contour']
    pk = head_keys_for(contour_choice)[1:]
    cfgs = [(float(contour_choice.split('t=')[1].split(',')[0]), contour_choice.split('surface=')[1].split(',')[0])] \
        if contour_choice else []  # parse 'contour(t=0.5,surface=contour,min_area=32)'
    seeds = []
    for r in pooled:
        model = load_model(arch, r['state'], device)
        imgs = {}
        for iid in test_ids:
            s = samples[iid]
            prob = predict_mean([model], Tiler(s['image'], multiple, device))
            imgs[iid] = score_image(prob[0], contour_map(arch, prob), s['labels'], contour, contour_cfgs=cfgs)
        seeds.append(dict(seed=r['pooled_seed'], val_dice=r['val_dice'], best_epoch=r['best_epoch'],
                          epochs=r['epochs'], seconds=r['seconds'], truncated=r['truncated'],
                          val_history=r.get('val_history'),
                          test={k: aggregate([imgs[i][k] for i in test_ids]) for k in pk}))
        del model
    summary = {}
    for k in pk:
        summary[k] = {}
        for met in ('dice', 'iou', 'obj_f1', 'pr_auc', 'pooled_dice', 'pred_count'):
            m, sd = mean_std([x['test'][k][met] for x in seeds])
            summary[k][met] = dict(mean=m, std=sd)
    return dict(status='done', seeds=seeds, summary=summary)


# ---------------------------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------------------------
def clean_json(o):
    if isinstance(o, dict):
        return {str(k): clean_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean_json(v) for v in o]
    if isinstance(o, (np.floating,)):
        o = float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(clean_json(obj), f, indent=1)
    os.replace(tmp, path)


def fmt(x, nd=4):
    return '   -  ' if x is None else f'{x:.{nd}f}'


def summary_table(results):
    lines = []
    hdr = (f'{"var":3} {"status":8} {"val":>6} {"train s":>7} | {"Dice":>6} {"PR-AUC":>6} | {"F1 comp":>7} '
           f'{"F1 dist":>7} {"F1 ctr*":>7} {"F1 best":>7} | {"cnt/true":>9} | {"pooled F1 dist":>14} | contour OOF choice')
    lines.append(hdr)
    lines.append('-' * len(hdr))
    for name, v in results['variants'].items():
        if v.get('status') not in ('done', 'partial'):
            lines.append(f'{name:3} {v.get("status", "?"):8} {v.get("reason", "")}')
            continue
        te = v['test']
        dk = config_key('distance', PROJECT_MIN_AREA)
        ck = config_key('components', PROJECT_MIN_AREA)
        choice = v['oof'].get('contour_choice')
        ctr = choice['test']['obj_f1'] if choice else None
        best = max((te[k]['obj_f1'] for k in te if k.startswith('contour')), default=None)
        pooled = v.get('pooled', {}).get('summary', {}).get(dk, {}).get('obj_f1', {})
        pstr = f'{fmt(pooled.get("mean"))}±{fmt(pooled.get("std"), 3)}' if pooled else '   -'
        lines.append(f'{name:3} {v["status"]:8} {fmt(v["members_summary"]["val_dice_mean"], 3):>6} '
                     f'{fmt(v["members_summary"]["train_wall_seconds"], 0):>7} | {fmt(te[dk]["dice"])} {fmt(te[dk]["pr_auc"])} | '
                     f'{fmt(te[ck]["obj_f1"]):>7} {fmt(te[dk]["obj_f1"]):>7} {fmt(ctr):>7} {fmt(best):>7} | '
                     f'{te[dk]["pred_count"]:4d}/{te[dk]["true_count"]:<4d} | {pstr:>14} | '
                     f'{choice["config"] if choice else ""}')
    lines.append('F1 = object F1 @IoU0.5, mean over test images; Dice/cnt with distance watershed, min area 32; '
                 'F1 ctr* = contour split with the out-of-fold choice (honest); F1 best = best contour grid cell on '
                 'TEST (optimistic); val = mean member validation Dice.')
    return '\n'.join(lines)


def comparisons(results):
    """Paired per-test-image object F1 differences between headline configurations (13 images: small sample;
    the pooled baselines' seed-to-seed std is the noise yardstick)."""
    dk = config_key('distance', PROJECT_MIN_AREA)
    ck = config_key('components', PROJECT_MIN_AREA)
    systems = {}
    for v, e in results['variants'].items():
        if e.get('status') not in ('done', 'partial'):
            continue
        systems[f'{v}:distance'] = (v, dk)
        systems[f'{v}:components'] = (v, ck)
        if 'contour_choice' in e.get('oof', {}):
            systems[f'{v}:contour-oof'] = (v, e['oof']['contour_choice']['config'])

    def f1s(name):
        v, k = systems[name]
        pi = results['variants'][v]['per_image']
        return {i: pi[i][k]['obj_f1'] for i in pi}

    pairs = []
    for v in 'BD':
        if f'{v}:contour-oof' in systems:
            pairs.append((f'{v}:contour-oof', f'{v}:distance'))
            if 'A:distance' in systems:
                pairs.append((f'{v}:contour-oof', 'A:distance'))
    for a, b in (('C:distance', 'A:distance'), ('D:distance', 'B:distance'), ('B:distance', 'A:distance'),
                 ('D:contour-oof', 'B:contour-oof')):
        if a in systems and b in systems:
            pairs.append((a, b))
    out = []
    for a, b in pairs:
        fa, fb = f1s(a), f1s(b)
        d = [fa[i] - fb[i] for i in fa if i in fb]
        m, s = mean_std(d)
        out.append(dict(a=a, b=b, a_config=systems[a][1], b_config=systems[b][1], mean_f1_a=mean_std(list(fa.values()))[0],
                        mean_f1_b=mean_std(list(fb.values()))[0], mean_delta=m, std_delta=s, images=len(d),
                        wins=sum(x > 1e-12 for x in d), losses=sum(x < -1e-12 for x in d)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--variants', default='A,B,C,D')
    ap.add_argument('--out', default=os.environ.get('OUT') or './out')
    ap.add_argument('--quick', action='store_true', help='2 epochs x 2 steps, 2 members, 2 test images')
    ap.add_argument('--time-budget', type=float, default=450, help='seconds for the whole run (default 450)')
    ap.add_argument('--eval-reserve', type=float, default=90,
                    help='seconds kept for evaluation: no training epoch starts after budget - reserve')
    ap.add_argument('--workers', type=int, default=None,
                    help='training processes (default: 12 on CUDA, 0 = in-process on CPU)')
    ap.add_argument('--members', default=None, help='comma-separated member ids to train (default all)')
    ap.add_argument('--epochs', type=int, default=None, help='override max epochs (debug)')
    ap.add_argument('--no-pooled', action='store_true', help='skip all pooled baselines')
    ap.add_argument('--pooled-cd', action='store_true',
                    help='schedule the C/D pooled baselines with their variants, not after everything else')
    ap.add_argument('--no-eval', action='store_true', help='train only (timing)')
    ap.add_argument('--verbose', action='store_true', help='one line per member epoch')
    ap.add_argument('--strict-fp32', action='store_true', help='disable TF32 in cuDNN convolutions / matmuls')
    ap.add_argument('--deterministic', action='store_true', help='cudnn.deterministic (slower, bitwise repeatable)')
    ap.add_argument('--data', default=os.path.join(os.path.dirname(REPO), 'shared', 'data', 'dsb2018-fluo'),
                    help='labelled data folder (default: the team copy beside the repo, ../shared/data/dsb2018-fluo)')
    ap.add_argument('--partition', default=os.path.join(BUNDLED, 'partition.json'))
    args = ap.parse_args()

    t0 = time.time()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    set_backend_flags(args.strict_fp32, args.deterministic)
    workers = args.workers if args.workers is not None else \
        (min(12, max(1, (os.cpu_count() or 4) - 2)) if device == 'cuda' else 0)
    variants = [v.strip().upper() for v in args.variants.split(',') if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f'unknown variant {v}')
    os.makedirs(args.out, exist_ok=True)
    out_path = os.path.join(args.out, 'results.json')
    epochs = args.epochs or (2 if args.quick else RECIPE['epochs'])
    steps = 2 if args.quick else RECIPE['steps_per_epoch']
    dev_name = torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'
    log(f'device {device} ({dev_name}), torch {torch.__version__}, workers {workers}, variants {variants}, '
        f'budget {args.time_budget:.0f}s, quick {args.quick}', t0)

    samples = load_samples(args.data)
    test_ids = sorted(i for i, s in samples.items() if s['split'] == 'test')
    train_ids_all = sorted(i for i, s in samples.items() if s['split'] == 'train')
    plans = member_plans(args.partition)
    pooled_plans = {}
    for sd in POOLED_SEEDS:
        pp = os.path.join(BUNDLED, 'baselines', f'pooled-s{sd}', 'partition.json')
        pooled_plans[sd] = [pl for pl in member_plans(pp) if pl['id'] == 'all-f0'][0]
    if args.members:
        want = set(args.members.split(','))
        plans = [pl for pl in plans if pl['id'] in want]
    oof_ids = train_ids_all
    pooled_seeds = POOLED_SEEDS
    if args.quick:
        plans = [plans[0], plans[len(plans) // 2]] if len(plans) > 1 else plans
        for pl in plans:
            pl['val_ids'] = pl['val_ids'][:1]
        test_ids = test_ids[:2]
        oof_ids = [i for i in train_ids_all if any(i not in pl['train_ids'] for pl in plans)][:3]
        pooled_seeds = [0]
        for sd in pooled_seeds:
            pooled_plans[sd]['val_ids'] = pooled_plans[sd]['val_ids'][:1]
    for pl in plans + list(pooled_plans.values()):
        for i in pl['train_ids'] + pl['val_ids']:
            assert samples[i]['split'] == 'train', f'{i} is not a training image'
    log(f'{len(samples)} images ({len(train_ids_all)} train, {len(test_ids)} test used), {len(plans)} members per '
        f'variant, epochs<={epochs}, steps {steps}', t0)

    deadline = t0 + args.time_budget - args.eval_reserve
    jobs = []

    def add_jobs(v, kind):
        arch = VARIANTS[v]
        if kind == 'member':
            for pl in plans:
                jobs.append(dict(variant=v, kind='member', id=pl['id'], mode=pl['mode'], fold=pl['fold'],
                                 train_ids=pl['train_ids'], val_ids=pl['val_ids'], arch=arch,
                                 seed=member_seed(arch.get('seed_base', 0), pl['id']), epochs=epochs, steps=steps, deadline=deadline,
                                 verbose=args.verbose))
        else:
            for sd in pooled_seeds:
                pl = pooled_plans[sd]
                jobs.append(dict(variant=v, kind='pooled', id=f'pooled-s{sd}', pooled_seed=sd, mode='all', fold=0,
                                 train_ids=pl['train_ids'], val_ids=pl['val_ids'], arch=arch,
                                 seed=member_seed(sd, 'all-f0'), epochs=epochs, steps=steps, deadline=deadline,
                                 verbose=args.verbose))

    late_pooled = []
    for v in variants:
        add_jobs(v, 'member')
        if not args.no_pooled:
            if v in ('A', 'B') or args.pooled_cd:
                add_jobs(v, 'pooled')
            else:
                late_pooled.append(v)
    for v in late_pooled:
        add_jobs(v, 'pooled')

    results = dict(config=dict(recipe=RECIPE, variants={v: VARIANTS[v] for v in variants}, args=vars(args),
                               device=device, device_name=dev_name, torch=torch.__version__, numpy=np.__version__,
                               workers=workers, epochs=epochs, steps=steps, test_ids=test_ids,
                               oof_images=len(oof_ids), tf32_conv=bool(torch.backends.cudnn.allow_tf32),
                               started=time.strftime('%Y-%m-%dT%H:%M:%S')),
                   reference_ts=REFERENCE_TS, variants={v: dict(status='pending') for v in variants})
    write_json(out_path, results)

    done = {}  # (variant, kind) -> list of job results
    expected = {}
    for j in jobs:
        expected[(j['variant'], j['kind'])] = expected.get((j['variant'], j['kind']), 0) + 1
    evaluated_members, evaluated_pooled = set(), set()

    def usable(r):
        return not r.get('skipped') and not r.get('error') and not r.get('failed')

    def handle(r, job):
        for k in ('variant', 'kind', 'train_ids', 'mode', 'fold'):
            r[k] = job[k]
        if job['kind'] == 'pooled':
            r['pooled_seed'] = job['pooled_seed']
        done.setdefault((job['variant'], job['kind']), []).append(r)
        if r.get('error'):
            log(f'{job["variant"]} {job["id"]}: ERROR\n{r["error"]}', t0)
        elif r.get('skipped'):
            log(f'{job["variant"]} {job["kind"]} {job["id"]}: skipped (time budget)', t0)
        else:
            log(f'{job["variant"]} {job["kind"]} {job["id"]}: val dice {r["val_dice"]:.4f} (best epoch '
                f'{r["best_epoch"]} of {r["epochs"]}{", TRUNCATED" if r["truncated"] else ""}'
                f'{", FAILED " + r["failed"] if r["failed"] else ""}), {r["seconds"]:.1f}s', t0)
        progress_evaluations()

    def complete(key):
        return len(done.get(key, [])) >= expected.get(key, 0)

    def wall(rs):
        rs = [r for r in rs if 'started_at' in r]
        return round(max(r['ended_at'] for r in rs) - min(r['started_at'] for r in rs), 1) if rs else None

    def progress_evaluations():
        # Members of each variant are evaluated as soon as they are all trained (in variant order); its pooled
        # baselines as soon as those are trained and the variant's members were evaluated.
        for v in variants:
            if v not in evaluated_members:
                if not complete((v, 'member')):
                    return
                evaluated_members.add(v)
                finish_members(v)
            pkey = (v, 'pooled')
            if pkey in expected and v not in evaluated_pooled and complete(pkey):
                evaluated_pooled.add(v)
                finish_pooled(v)

    def finish_members(v):
        arch = VARIANTS[v]
        mem = sorted(done.get((v, 'member'), []), key=lambda r: r['id'])
        entry = results['variants'][v]
        entry['arch'] = arch
        entry['members'] = [dict(id=r['id'], mode=r['mode'], fold=r['fold'], val_dice=r.get('val_dice'),
                                 best_epoch=r.get('best_epoch'), epochs=r.get('epochs'), seconds=r.get('seconds'),
                                 truncated=r.get('truncated'), failed=r.get('failed'), skipped=r.get('skipped'),
                                 error=r.get('error'), seed=r.get('seed'), val_history=r.get('val_history'),
                                 loss_history=r.get('loss_history')) for r in mem]
        ok = [r for r in mem if usable(r)]
        vd = [r['val_dice'] for r in ok]
        entry['members_summary'] = dict(
            trained=len(ok), expected=expected[(v, 'member')], params=ok[0]['params'] if ok else None,
            val_dice_mean=mean_std(vd)[0], val_dice_std=mean_std(vd)[1],
            epochs_mean=mean_std([r['epochs'] for r in ok])[0],
            seconds_sum=round(sum(r['seconds'] for r in ok), 1),
            seconds_max=max((r['seconds'] for r in ok), default=None),
            train_wall_seconds=wall(ok), truncated=sum(1 for r in ok if r['truncated']))
        if len(ok) < expected[(v, 'member')]:
            entry['status'] = 'skipped'
            entry['reason'] = f'{len(ok)} of {expected[(v, "member")]} members trained (time budget or error)'
            log(f'variant {v}: {entry["reason"]}; not evaluated', t0)
        elif args.no_eval:
            entry['status'] = 'trained'
        else:
            log(f'evaluating variant {v} ({len(ok)} members, {len(test_ids)} test + {len(oof_ids)} '
                f'out-of-fold images)', t0)
            try:
                entry.update(evaluate_ensemble(arch, ok, samples, test_ids, oof_ids, device))
                entry['status'] = 'partial' if entry['members_summary']['truncated'] else 'done'
                te = entry['test']
                dk = config_key('distance', PROJECT_MIN_AREA)
                msg = (f'variant {v}: test Dice {te[dk]["dice"]:.4f}, PR-AUC {te[dk]["pr_auc"]:.4f}, object F1 '
                       f'components {te[config_key("components", PROJECT_MIN_AREA)]["obj_f1"]:.4f}, distance '
                       f'{te[dk]["obj_f1"]:.4f}')
                if 'contour_choice' in entry['oof']:
                    c = entry['oof']['contour_choice']
                    msg += f', contour (OOF choice {c["config"]}) {c["test"]["obj_f1"]:.4f}'
                log(msg + f' [eval {entry["eval_seconds"]:.1f}s]', t0)
            except Exception:
                entry['status'] = 'eval-error'
                entry['error'] = traceback.format_exc()
                log(f'variant {v}: evaluation failed\n{entry["error"]}', t0)
        write_json(out_path, results)

    def finish_pooled(v):
        arch = VARIANTS[v]
        entry = results['variants'][v]
        pr = sorted(done.get((v, 'pooled'), []), key=lambda r: r['pooled_seed'])
        ok = [r for r in pr if usable(r)]
        info = dict(trained=len(ok), expected=expected[(v, 'pooled')], train_wall_seconds=wall(ok),
                    runs=[dict(seed=r['pooled_seed'], val_dice=r.get('val_dice'), epochs=r.get('epochs'),
                               best_epoch=r.get('best_epoch'), seconds=r.get('seconds'),
                               truncated=r.get('truncated'), skipped=r.get('skipped'), error=r.get('error'))
                          for r in pr])
        if len(ok) < len(pr):
            entry['pooled'] = dict(status='skipped', reason='time budget or error', **info)
        elif args.no_eval or entry.get('status') not in ('done', 'partial'):
            entry['pooled'] = dict(status='trained', **info)
        else:
            log(f'evaluating pooled baselines of {v}', t0)
            try:
                choice = entry.get('oof', {}).get('contour_choice', {}).get('config')
                entry['pooled'] = dict(evaluate_pooled(arch, ok, samples, test_ids, device, choice), **info)
                dk = config_key('distance', PROJECT_MIN_AREA)
                s = entry['pooled']['summary'][dk]
                log(f'variant {v} pooled: test Dice {s["dice"]["mean"]:.4f}, object F1 (distance) '
                    f'{s["obj_f1"]["mean"]:.4f} +/- {fmt(s["obj_f1"]["std"])}', t0)
            except Exception:
                entry['pooled'] = dict(status='eval-error', error=traceback.format_exc(), **info)
                log(f'variant {v} pooled: evaluation failed\n{entry["pooled"]["error"]}', t0)
        write_json(out_path, results)

    def run_inline(job_list):
        train_samples = {i: s for i, s in samples.items() if s['split'] == 'train'}
        for job in job_list:
            try:
                pr = (lambda s: log(s, t0)) if args.verbose else None
                r = train_member(job, train_samples, device, pr)
            except Exception:
                r = dict(id=job['id'], skipped=False, error=traceback.format_exc())
            handle(r, job)

    if workers <= 0:
        run_inline(jobs)
    else:
        ctx = torch.multiprocessing.get_context('spawn')
        pending = list(jobs)
        try:
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                        initargs=(args.data, device, 1, args.strict_fp32,
                                                  args.deterministic)) as pool:
                futs = {pool.submit(_worker_run, job): job for job in jobs}
                for fut in cf.as_completed(futs):
                    job = futs[fut]
                    r = fut.result()
                    pending.remove(job)
                    handle(r, job)
        except cf.process.BrokenProcessPool:
            log(f'worker pool broke; running the {len(pending)} remaining jobs in this process', t0)
            run_inline(pending)
    progress_evaluations()
    try:
        results['comparisons'] = comparisons(results)
    except Exception:
        results['comparisons'] = dict(error=traceback.format_exc())
    results['config']['elapsed_seconds'] = round(time.time() - t0, 1)
    write_json(out_path, results)
    log('summary\n' + summary_table(results), t0)
    for c in results.get('comparisons', []) if isinstance(results.get('comparisons'), list) else []:
        log(f'paired object F1: {c["a"]} - {c["b"]} = {fmt(c["mean_delta"])} (sd {fmt(c["std_delta"])}, '
            f'wins/losses {c["wins"]}/{c["losses"]} of {c["images"]} images)')
    log(f'wrote {out_path}', t0)


if __name__ == '__main__':
    main()
