"""Scale-aware h for the core-distance watershed, out of fold: h fixed vs h = a * median object radius."""
import json, os

import numpy as np

from common import OUT, SAMPLES as S, exp, member_probabilities, oof_members, split_core
cache = os.path.join(OUT, 'meanprob')
os.makedirs(cache, exist_ok=True)


out = {}
for iid, s in sorted(S.items()):
    f = f'{cache}/{iid}.npy'
    if os.path.exists(f):
        mean = np.load(f)
    else:
        mean = member_probabilities(s['image'], oof_members(iid)).mean(0)
        np.save(f, mean)
    mask = exp.base_mask(mean)
    lab0 = split_core(mask, mean > 0.6, 0.25)
    ar = np.bincount(lab0.ravel())[1:]; ar = ar[ar >= 32]
    r = float(np.sqrt(np.median(ar) / np.pi)) if ar.size else 5.0
    rec = dict(mode=s['mode'], split=s['split'], radius=r)
    for h in (0.25, 0.5, 1.0, 2.0):
        rec[f'h={h}'] = exp.label_scores(split_core(mask, mean > 0.6, h), s['labels'], [32])[32]
    for a in (0.02, 0.05, 0.1, 0.15):
        rec[f'h={a}r'] = exp.label_scores(split_core(mask, mean > 0.6, a * r), s['labels'], [32])[32]
    out[iid] = rec
    print(iid[:8], s['mode'], f'r={r:.1f}', ' '.join(f"{k}:{exp.image_metrics(v, None)['obj_f1']:.3f}" for k, v in rec.items() if isinstance(v, dict)), flush=True)
json.dump(out, open(os.path.join(OUT, 'h_results.json'), 'w'), default=float)
