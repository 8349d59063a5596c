"""Sequence training vs independent windows on the demo data (issue 11): the same model and schedule trained both ways
reaches the same validation fMRI r within seed noise, in less time.

Generates the demo's mini-Sherlock (300 TRs x 3 subjects), prepares it once, then trains the demo configuration with
`sequence_trs=None` (windows) and `sequence_trs=16` (sequences) for both targets ('average', the demo's, and 'subject')
and several seeds; records the best validation r over the train-block reliable voxels (the selection criterion), its
epoch, the training wall time and the per-epoch time. Writes bench/results/sequences.json.

    python bench/bench_sequences.py [--seeds 0 1 2] [--targets average subject]
"""
from __future__ import annotations
import argparse, dataclasses, tempfile, time, warnings
from pathlib import Path
import numpy as np
from _bench import RESULTS, machine_info, write_result

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--targets', nargs='+', default=['subject', 'average'], choices=['average', 'subject'])
    ap.add_argument('--lengths', type=int, nargs='+', default=[16], help='sequence_trs values compared with windows')
    ap.add_argument('--no-windows', action='store_true', help='skip the window runs (already measured)')
    ap.add_argument('--batch-size', type=int, default=None,
                    help='windows per step for the sequence runs (default: the demo\'s 16). Per subject, a step of b windows '
                         'scores b x n_subjects samples, so 16 // n_subjects matches the windows runs\' samples and steps per epoch')
    ap.add_argument('--out', default=str(RESULTS/'sequences.json'))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(2)
    from giblet.audio import UntrainedCodecWarning
    from giblet.data import prepare_dataset
    from giblet.pipeline import demo_config, train_model
    from giblet.synthetic import generate
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg0 = demo_config()
        generate(tmp/'data', n_trs=300, n_subjects=3, seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UntrainedCodecWarning)
            data = prepare_dataset(tmp/'data', config=cfg0.data, verbose=False)
        for target in args.targets:
            for seed in args.seeds:
                for L in ([] if args.no_windows else [None]) + args.lengths:
                    cfg = dataclasses.replace(demo_config(), target=target, sequence_trs=L)
                    cfg.train = dataclasses.replace(cfg.train, seed=seed, progress=False,
                                                    **({} if L is None or args.batch_size is None else {'batch_size': args.batch_size}))
                    t0 = time.perf_counter()
                    _, hist = train_model(data, cfg, tmp/f'run-{target}-{seed}-{L}', resume=False)
                    wall = time.perf_counter() - t0
                    r = [h['val_fmri_r'] for h in hist]
                    best = int(np.argmax(r))
                    run = dict(target=target, seed=seed, mode='windows' if L is None else f'sequences_{L}' + ('' if args.batch_size is None else f'_batch{args.batch_size}'), best_val_r=round(r[best], 4),
                               best_epoch=best + 1, epochs_run=len(hist), train_wall_s=round(wall, 1), epoch_s=round(float(np.mean([h['seconds'] for h in hist])), 2))
                    print(run, flush=True); runs.append(run)
    summary = {}
    for target in args.targets:
        for mode in sorted({r['mode'] for r in runs}):
            v = [r['best_val_r'] for r in runs if r['target'] == target and r['mode'] == mode]
            e = [r['epoch_s'] for r in runs if r['target'] == target and r['mode'] == mode]
            summary[f'{target}.{mode}'] = dict(val_r_mean=round(float(np.mean(v)), 4), val_r_sd=round(float(np.std(v, ddof=1)), 4) if len(v) > 1 else None,
                                               epoch_s_mean=round(float(np.mean(e)), 2), n_seeds=len(v))
        w = summary.get(f'{target}.windows')
        for L in args.lengths:
            mode = f'sequences_{L}' + ('' if args.batch_size is None else f'_batch{args.batch_size}')
            s = summary[f'{target}.{mode}']
            if w: summary[f'{target}.{mode}_minus_windows'] = dict(val_r=round(s['val_r_mean'] - w['val_r_mean'], 4), epoch_time_ratio=round(s['epoch_s_mean'] / w['epoch_s_mean'], 3))
    write_result(args.out, dict(what=__doc__.splitlines()[0], data='demo mini-Sherlock: 300 TRs x 3 subjects, seed 0; demo_config() model and schedule',
                                score='best validation r (mean over the train-block reliable voxels, the checkpoint criterion)',
                                runs=runs, summary=summary, machine=machine_info()))
    print(summary)

if __name__ == '__main__': main()
