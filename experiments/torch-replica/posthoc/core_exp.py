"""Markers for the distance watershed from different cores, out of fold: mean > t (the product's), every member > t
(unanimous), median > t. Bundled float32 members via the torch replica; min area 32, h 0.25, sigma 1."""
import json, os, sys, time, numpy as np, torch
from scipy import ndimage as ndi
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import exp
torch.set_num_threads(2)
OUT = sys.argv[1] if len(sys.argv) > 1 else '.'  # output folder
os.makedirs(OUT, exist_ok=True)
src = open(os.path.join(os.path.dirname(HERE), 'reproduce_report.py')).read().split('\nS = exp.load_samples')[0]
ns = {'__file__': os.path.join(os.path.dirname(HERE), 'reproduce_report.py')}
exec(src, ns)
ROOT = exp.BUNDLED
S = exp.load_samples(os.path.join(os.path.dirname(exp.REPO), 'shared', 'data', 'dsb2018-fluo'))
plans = {p['id']: p for p in exp.member_plans(ROOT + '/partition.json')}
ids = sorted(os.listdir(ROOT + '/checkpoints'))
models = {i: ns['load_tfjs'](f'{ROOT}/checkpoints/{i}') for i in ids}

def split_core(mask, core, h=0.25, sigma=1.0):
    full = ndi.distance_transform_edt(mask)
    cm = mask & core
    cd = ndi.distance_transform_edt(cm)
    cd = ndi.gaussian_filter(cd, sigma, mode='reflect', truncate=4.0)
    full = ndi.gaussian_filter(full, sigma, mode='reflect', truncate=4.0)
    peaks = exp.h_maxima(cd, h) & cm
    return exp.split_touching(mask, peaks, -full)

out = {}
t0 = time.time()
for iid, s in sorted(S.items()):
    mids = [m for m in ids if iid not in plans[m]['train_ids']]
    tiler = exp.Tiler(s['image'], 8, 'cpu')
    with torch.no_grad():
        probs = np.stack([tiler.predict(models[m])[0].numpy() for m in mids])
    mean = probs.mean(0); mn = probs.min(0); med = np.median(probs, 0)
    mask = exp.base_mask(mean)
    rec = dict(mode=s['mode'], split=s['split'])
    cores = {'mean>0.6': mean > 0.6}
    for t in (0.3, 0.5, 0.7): cores[f'min>{t}'] = mn > t
    for t in (0.6, 0.7): cores[f'median>{t}'] = med > t
    cores['mean>0.6&min>0.3'] = (mean > 0.6) & (mn > 0.3)
    for k, c in cores.items():
        lab = split_core(mask, c)
        rec[k] = exp.label_scores(lab, s['labels'], [32])[32]
    out[iid] = rec
    print(iid[:8], s['mode'], s['split'], ' '.join(f"{k}:{exp.image_metrics(v, None)['obj_f1']:.3f}" for k, v in rec.items() if isinstance(v, dict)), f'{time.time()-t0:.0f}s', flush=True)
json.dump(out, open(os.path.join(OUT, 'results.json'), 'w'), default=float)
