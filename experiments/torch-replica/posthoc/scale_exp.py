"""Test-time rescaling: does upsampling small-nuclei images before the ensemble raise object F1?
Bundled float32 members; OOF on train images, and test images. Post-processing: core distance watershed
(core 0.6, h 0.25, sigma 1, min area 32) at the working scale (h, sigma scaled by s, area by s^2), labels
back to native by nearest; and 'native' = probability resized back, post-processed at native."""
import json, os, sys, time, numpy as np, torch
from scipy import ndimage as ndi
from skimage.transform import resize
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import exp
torch.set_num_threads(2)
OUT = sys.argv[1] if len(sys.argv) > 1 else '.'  # output folder
os.makedirs(OUT, exist_ok=True)
src = open(os.path.join(os.path.dirname(HERE), 'reproduce_report.py')).read().split('\nS = exp.load_samples')[0]
ns = {'__file__': os.path.join(os.path.dirname(HERE), 'reproduce_report.py')}
exec(src, ns)
load_tfjs = ns['load_tfjs']
ROOT = exp.BUNDLED
S = exp.load_samples(os.path.join(os.path.dirname(exp.REPO), 'shared', 'data', 'dsb2018-fluo'))
plans = {p['id']: p for p in exp.member_plans(ROOT + '/partition.json')}
ids = sorted(os.listdir(ROOT + '/checkpoints'))
models = {i: load_tfjs(f'{ROOT}/checkpoints/{i}') for i in ids}

def labels_core(prob, mask, h, sigma, core):
    full = ndi.distance_transform_edt(mask)
    cm = mask & (prob > core)
    cd = ndi.distance_transform_edt(cm)
    if sigma > 0:
        cd = ndi.gaussian_filter(cd, sigma, mode='reflect', truncate=4.0)
        full = ndi.gaussian_filter(full, sigma, mode='reflect', truncate=4.0)
    peaks = exp.h_maxima(cd, h) & cm
    return exp.split_touching(mask, peaks, -full)

SCALES = [float(s) for s in os.environ.get('SCALES', '1,1.5,2').split(',')]
out = {}
t0 = time.time()
for iid, s in sorted(S.items()):
    mids = [m for m in ids if iid not in plans[m]['train_ids']]
    if s['split'] == 'train' and len(mids) == len(ids):
        pass
    img = s['image']
    H, W = img.shape
    rec = dict(mode=s['mode'], split=s['split'], members=len(mids))
    for sc in SCALES:
        im = img if sc == 1 else resize(img, (round(H * sc), round(W * sc)), order=1, mode='reflect', anti_aliasing=False).astype(np.float32)
        prob = exp.predict_mean([models[m] for m in mids], exp.Tiler(im, 8, 'cpu'))[0]
        mask = exp.base_mask(prob)
        lab = labels_core(prob, mask, 0.25 * sc, 1.0 * sc, 0.6)
        labn = lab if sc == 1 else resize(lab, (H, W), order=0, preserve_range=True, anti_aliasing=False).astype(np.int32)
        r = exp.label_scores(labn, s['labels'], [32])[32]
        # area filter at native after nearest-downsampling
        areas = np.bincount(lab.ravel())
        rec[f'up{sc}'] = exp.image_metrics(r, None)
        if sc != 1:
            pn = resize(prob, (H, W), order=1, mode='reflect', anti_aliasing=True)
            mn = exp.base_mask(pn)
            ln = labels_core(pn, mn, 0.25, 1.0, 0.6)
            rec[f'native{sc}'] = exp.image_metrics(exp.label_scores(ln, s['labels'], [32])[32], None)
        rec[f'count{sc}'] = int(lab.max())
        if sc == 1:
            ar = np.bincount(lab.ravel())[1:]; ar = ar[ar >= 32]
            rec['median_area1'] = float(np.median(ar)) if ar.size else 0.0
    out[iid] = rec
    print(iid[:8], s['mode'], s['split'], len(mids), ' '.join(f"{k}:{v['obj_f1']:.3f}" for k, v in rec.items() if isinstance(v, dict)), f'{time.time()-t0:.0f}s', flush=True)
json.dump(out, open(os.path.join(OUT, 'results.json'), 'w'), default=float)
