"""Scale-aware h for the core-distance watershed, out of fold: h fixed vs h = a * median object radius."""
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
cache = os.path.join(OUT, 'meanprob')
os.makedirs(cache, exist_ok=True)

def split_core(mask, prob, h, sigma=1.0, core=0.6):
    full = ndi.gaussian_filter(ndi.distance_transform_edt(mask), sigma, mode='reflect', truncate=4.0)
    cm = mask & (prob > core)
    cd = ndi.gaussian_filter(ndi.distance_transform_edt(cm), sigma, mode='reflect', truncate=4.0)
    peaks = exp.h_maxima(cd, h) & cm
    return exp.split_touching(mask, peaks, -full)

out = {}
for iid, s in sorted(S.items()):
    f = f'{cache}/{iid}.npy'
    if os.path.exists(f):
        mean = np.load(f)
    else:
        mids = [m for m in ids if iid not in plans[m]['train_ids']]
        tiler = exp.Tiler(s['image'], 8, 'cpu')
        with torch.no_grad():
            mean = np.mean([tiler.predict(models[m])[0].numpy() for m in mids], 0)
        np.save(f, mean)
    mask = exp.base_mask(mean)
    lab0 = split_core(mask, mean, 0.25)
    ar = np.bincount(lab0.ravel())[1:]; ar = ar[ar >= 32]
    r = float(np.sqrt(np.median(ar) / np.pi)) if ar.size else 5.0
    rec = dict(mode=s['mode'], split=s['split'], radius=r)
    for h in (0.25, 0.5, 1.0, 2.0):
        rec[f'h={h}'] = exp.label_scores(split_core(mask, mean, h), s['labels'], [32])[32]
    for a in (0.02, 0.05, 0.1, 0.15):
        rec[f'h={a}r'] = exp.label_scores(split_core(mask, mean, a * r), s['labels'], [32])[32]
    out[iid] = rec
    print(iid[:8], s['mode'], f'r={r:.1f}', ' '.join(f"{k}:{exp.image_metrics(v, None)['obj_f1']:.3f}" for k, v in rec.items() if isinstance(v, dict)), flush=True)
json.dump(out, open(os.path.join(OUT, 'h_results.json'), 'w'), default=float)
