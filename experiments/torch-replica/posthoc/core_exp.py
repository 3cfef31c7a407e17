"""Markers for the distance watershed from different cores, out of fold: mean > t (the product's), every member > t
(unanimous), median > t. Bundled float32 members via the torch replica; min area 32, h 0.25, sigma 1."""
import json, time

import numpy as np

from common import OUT, SAMPLES as S, exp, member_probabilities, oof_members, split_core


out = {}
t0 = time.time()
for iid, s in sorted(S.items()):
    probs = member_probabilities(s['image'], oof_members(iid))
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
