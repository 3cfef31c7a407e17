"""What the post-hoc experiments share: the bundled ensemble's float32 members in the replica, the samples, which
members never trained on an image, and the product's core-distance watershed."""
import os
import sys

import numpy as np
import torch
from scipy import ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import exp  # noqa: E402
from reproduce_report import load_tfjs  # noqa: E402

torch.set_num_threads(2)
OUT = sys.argv[1] if len(sys.argv) > 1 else '.'  # output folder
os.makedirs(OUT, exist_ok=True)
ROOT = exp.BUNDLED
SAMPLES = exp.load_samples(os.path.join(os.path.dirname(exp.REPO), 'shared', 'data', 'dsb2018-fluo'))
PLANS = {p['id']: p for p in exp.member_plans(ROOT + '/partition.json')}
IDS = sorted(os.listdir(ROOT + '/checkpoints'))
MODELS = {i: load_tfjs(f'{ROOT}/checkpoints/{i}') for i in IDS}


def oof_members(image_id):
    """The members that never trained on the image: all of them for a test image."""
    return [m for m in IDS if image_id not in PLANS[m]['train_ids']]


def member_probabilities(image, members):
    """Each member's foreground probability, (members, H, W)."""
    tiler = exp.Tiler(image, 8, 'cpu')
    with torch.no_grad():
        return np.stack([tiler.predict(MODELS[m])[0].numpy() for m in members])


def split_core(mask, core, h=0.25, sigma=1.0):
    """split.ts' distance watershed with a core: h-maxima of the (smoothed) core's distance map as markers,
    flooded over the whole mask's distance."""
    full = ndi.distance_transform_edt(mask)
    cm = mask & core
    cd = ndi.distance_transform_edt(cm)
    if sigma > 0:
        cd = ndi.gaussian_filter(cd, sigma, mode='reflect', truncate=4.0)
        full = ndi.gaussian_filter(full, sigma, mode='reflect', truncate=4.0)
    peaks = exp.h_maxima(cd, h) & cm
    return exp.split_touching(mask, peaks, -full)
