"""Benchmark: the fMRI evaluation at the Sherlock scale (920 TRs x ~85,000 voxels).

Generates responses in which 10 % of the voxels carry a planted linear response to FIR-delayed stimulus features
and the rest is noise, then times, on the held-out test block (the last 20 % of TRs, after a 10-TR gap):
`voxel_correlations`, `permutation_test` (phase randomisation, the default; circular shifts by FFT; block permutation), and `ridge_baseline`
(himalaya, FIR delays 1..6, contiguous CV folds on the training TRs). Prints the figures and writes
bench/results/evaluation.json (wall times in s, peak RSS in GB, and the correlations found, as a sanity check), with the
git commit it measured.

    OMP_NUM_THREADS=2 timeout 1800 python bench/bench_evaluation.py [--n-voxels 85000] [--n-trs 920]
"""
from __future__ import annotations
import argparse, os, time
import numpy as np
from _bench import RESULTS, machine_info, peak_rss_gb, write_result

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n-voxels', type=int, default=85000); ap.add_argument('--n-trs', type=int, default=920)
    ap.add_argument('--n-features', type=int, default=64); ap.add_argument('--n-permutations', type=int, default=1000)
    ap.add_argument('--block-permutations', type=int, default=100)
    ap.add_argument('--out', default=str(RESULTS/'evaluation.json'))
    a = ap.parse_args()
    import torch; torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 2)))
    from giblet.alignment import fir_delays
    from giblet.evaluation import voxel_correlations, permutation_test, ridge_baseline, signal_ceiling, summarize_fmri, jsonable

    rng = np.random.default_rng(0)
    n_trs, n_vox, n_feat = a.n_trs, a.n_voxels, a.n_features
    n_plant = n_vox // 10
    kernel = np.ones(3) / 3
    X = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode='same'), 0, rng.standard_normal((n_trs, n_feat))).astype(np.float32)
    W = rng.standard_normal((2 * n_feat, n_plant)).astype(np.float32) / np.sqrt(2 * n_feat)
    signal = np.zeros((n_trs, n_vox), np.float32)
    signal[:, :n_plant] = fir_delays(X, (3, 4)) @ W
    signal[:, :n_plant] /= signal[:, :n_plant].std(0)
    Y = signal + rng.standard_normal((n_trs, n_vox), dtype=np.float32)
    planted = np.arange(n_vox) < n_plant
    n_test = n_trs // 5
    train, test = np.arange(0, n_trs - n_test - 10), np.arange(n_trs - n_test, n_trs)
    # "model" prediction for timing the metrics: the planted signal plus independent error
    pred = signal[test] + rng.standard_normal((n_test, n_vox), dtype=np.float32)
    res = {'n_trs': n_trs, 'n_voxels': n_vox, 'n_test_trs': int(n_test), 'n_features': n_feat,
           'peak_rss_after_generation_gb': peak_rss_gb()}
    print(f'data: {n_trs} TRs x {n_vox} voxels ({n_plant} planted), test block {n_test} TRs', flush=True)

    t0 = time.time(); r = voxel_correlations(pred, Y[test]); res['voxel_correlations_s'] = time.time() - t0
    print(f"voxel_correlations: {res['voxel_correlations_s']:.2f} s", flush=True)
    t0 = time.time(); perm = permutation_test(pred, Y[test], n_permutations=a.n_permutations, voxels=planted)
    res['permutation_phase_s'] = time.time() - t0; res['permutation_phase_n'] = a.n_permutations
    print(f"permutation_test phase x{a.n_permutations}: {res['permutation_phase_s']:.2f} s", flush=True)
    t0 = time.time(); perm_c = permutation_test(pred, Y[test], n_permutations=a.n_permutations, method='circular', voxels=planted)
    res['permutation_circular_s'] = time.time() - t0; res['permutation_circular_n'] = a.n_permutations
    print(f"permutation_test circular x{a.n_permutations}: {res['permutation_circular_s']:.2f} s", flush=True)
    t0 = time.time(); perm_b = permutation_test(pred, Y[test], n_permutations=a.block_permutations, method='block', voxels=planted)
    res['permutation_block_s'] = time.time() - t0; res['permutation_block_n'] = a.block_permutations
    print(f"permutation_test block x{a.block_permutations}: {res['permutation_block_s']:.2f} s", flush=True)
    t0 = time.time(); ridge = ridge_baseline(X, Y, train, test)
    res['ridge_baseline_s'] = time.time() - t0
    print(f"ridge_baseline (delays 1..6, {n_feat * 6} regressors): {res['ridge_baseline_s']:.2f} s", flush=True)
    ceiling = signal_ceiling(signal[test], Y[test])
    summary = summarize_fmri(r, planted, ceiling, ridge.r, perm)
    res.update(peak_rss_gb=peak_rss_gb(), summary=summary, p_block=perm_b.p_mean, p_circular=perm_c.p_mean,
               noise_voxel_fpr_p05={m: float((q.p_voxel[~planted] < 0.05).mean()) for m, q in (('phase', perm), ('circular', perm_c), ('block', perm_b))},
               machine=machine_info())
    print(f"peak RSS {res['peak_rss_gb']:.2f} GB; mean r planted {summary['mean_r_planted']:.3f} (ridge "
          f"{summary['ridge_mean_r_planted']:.3f}, ceiling {summary['ceiling_mean_planted']:.3f}), other {summary['mean_r_other']:.3f}; "
          f"p(mean r) = {summary['p_value_mean_r']:.4f}", flush=True)
    print(f'wrote {write_result(a.out, jsonable(res))}')

if __name__ == '__main__': main()
