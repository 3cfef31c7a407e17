"""Evaluate the project's own trained TF.js members (models/dsb2018-fluo/checkpoints, float32) with exp.py's
inference, post-processing and metrics; compare with models/dsb2018-fluo/report (TF.js, uint8 weights)."""
import json, os, sys, numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exp

ROOT = os.path.join(exp.BUNDLED)


def load_tfjs(ck):
    m = json.load(open(ck + '/model.json'))
    ws, off = {}, 0
    for g in m['weightsManifest']:
        buf = b''.join(open(os.path.join(ck, p), 'rb').read() for p in g['paths'])
        off = 0
        for w in g['weights']:
            n = int(np.prod(w['shape']))
            ws[w['name']] = np.frombuffer(buf, np.float32, n, off).reshape(w['shape'])
            off += 4 * n
    net = exp.UNet(3, 8, False, False)
    sd = {}

    def put(prefix, name):
        sd[prefix + '.weight'] = torch.from_numpy(ws[name + '/kernel'].transpose(3, 2, 0, 1).copy())
        sd[prefix + '.bias'] = torch.from_numpy(ws[name + '/bias'].copy())
    for l in range(3):
        for c in (1, 2):
            put(f'down.{l}.seq.{2 * (c - 1)}', f'down{l}_conv{c}')
    for c in (1, 2):
        put(f'bottom.seq.{2 * (c - 1)}', f'bottom_conv{c}')
    for i, l in enumerate(reversed(range(3))):
        put(f'up.{i}', f'up{l}_up')
        for c in (1, 2):
            put(f'upblock.{i}.seq.{2 * (c - 1)}', f'up{l}_conv{c}')
    put('head', 'head')
    net.load_state_dict(sd)
    return net.eval()



def main():
    S = exp.load_samples(os.path.join(os.path.dirname(exp.REPO), 'shared', 'data', 'dsb2018-fluo'))
    test = sorted(i for i, s in S.items() if s['split'] == 'test')
    ids = sorted(os.listdir(ROOT + '/checkpoints'))
    models = [load_tfjs(f'{ROOT}/checkpoints/{i}') for i in ids]
    per = {}
    for i in test:
        prob = exp.predict_mean(models, exp.Tiler(S[i]['image'], 8, 'cpu'))
        per[i] = exp.score_image(prob[0], None, S[i]['labels'], False)
    keys = ['raw(threshold only)', 'components(min_area=32)', 'distance(min_area=32)']
    for k in keys:
        a = exp.aggregate([per[i][k] for i in test])
        print(f'{k:26} Dice {a["dice"]:.4f} IoU {a["iou"]:.4f} objF1 {a["obj_f1"]:.4f} PR-AUC {a["pr_auc"]:.4f} '
              f'pooled Dice {a["pooled_dice"]:.4f} count {a["pred_count"]}/{a["true_count"]}')
    print('report (TF.js, uint8):     Dice 0.9083 IoU 0.8352 objF1 0.7897 PR-AUC 0.9719 pooled Dice 0.9197')


if __name__ == '__main__':
    main()
