"""Benchmark: process Sherlock-sized fMRI (17 subjects x 920 TRs on the 61x73x61 3 mm MNI grid) into the voxel cache.

Writes generated subject runs (int16 .nii.gz, one subject at a time) into a temporary folder, runs
`giblet.fmri.prepare_fmri` in a fresh child process (`_bench.run_stage`: its peak RSS, VmHWM, is its own), records
wall and CPU times (s), peak RSS and cache size (GB) in bench/results/fmri.json with the git commit, then deletes the
generated inputs and the cache.

    OMP_NUM_THREADS=2 timeout 3000 python bench/bench_fmri.py [--subjects 17] [--n-trs 920] [--dtype float32]

Targets (issue 3): peak RSS of processing < 3 GB, cache < 6 GB.
"""
from __future__ import annotations
import argparse, json, os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np
from _bench import RESULTS, disk_gb, gb, machine_info, run_stage, write_result
from giblet.fmri import FMRIConfig, brain_mask, prepare_fmri   # imported before the measured call, in the child too

SHAPE = (61, 73, 61)
AFFINE = np.array([[-3., 0, 0, 90], [0, 3, 0, -126], [0, 0, 3, -72], [0, 0, 0, 1]])  # standard 3 mm MNI grid of Sherlock

def generate(folder:Path, n_subjects:int, n_trs:int, tr:float=1.5) -> list[Path]:
    "Write `n_subjects` runs: a shared slow signal plus subject noise and drift, int16, inside a dilated MNI brain mask, zeros outside."
    import nibabel as nib
    from scipy.ndimage import binary_dilation
    brain = binary_dilation(np.asanyarray(brain_mask(SHAPE, AFFINE).dataobj) > 0, iterations=2)
    n_vox = int(brain.sum())
    rng = np.random.default_rng(0)
    shared = np.cumsum(rng.standard_normal(n_trs, dtype=np.float32)) * 2
    paths = []
    for s in range(1, n_subjects + 1):
        r = np.random.default_rng(s)
        ts = 1000 + r.standard_normal((n_trs, n_vox), dtype=np.float32) * 20
        ts += shared[:, None] + np.linspace(0, 15, n_trs, dtype=np.float32)[:, None]
        vol = np.zeros((*SHAPE, n_trs), np.int16, order='F')
        vol[brain] = np.rint(ts.T).astype(np.int16); del ts
        img = nib.Nifti1Image(vol, AFFINE); img.header.set_xyzt_units('mm', 'sec'); img.header.set_zooms((3., 3., 3., tr))
        img.header.set_slope_inter(1, 0)
        p = folder/f'sherlock_movie_s{s}.nii.gz'; nib.save(img, str(p)); del vol, img
        paths.append(p)
        print(f'generated {p.name} ({gb(p.stat().st_size, 3)} GB)', flush=True)
    return paths

def process(paths:list[str], out:str, n_trs:int, dtype:str, train_frac:float=0.8) -> dict:
    "The measured step, run in a child process."
    cache = prepare_fmri(paths, out, np.arange(int(train_frac * n_trs)), FMRIConfig(dtype=dtype), stimulus_n_trs=n_trs, verbose=True)
    return dict(shape=list(cache.data.shape), dtype=str(cache.data.dtype))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--subjects', type=int, default=17); ap.add_argument('--n-trs', type=int, default=920)
    ap.add_argument('--dtype', default='float32', choices=['float32', 'float16'])
    ap.add_argument('--workdir', default=None, help='folder for the generated inputs and the cache (default: a new temporary folder)')
    ap.add_argument('--out', default=str(RESULTS/'fmri.json'))
    ap.add_argument('--timeout', type=float, default=None, help='seconds allowed for the processing child')
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_fmri_', dir=a.workdir))
    try:
        machine = machine_info()
        t0 = time.perf_counter(); paths = generate(work, a.subjects, a.n_trs); gen_s = time.perf_counter() - t0
        input_gb = gb(sum(p.stat().st_size for p in paths))
        r = run_stage(process, [str(p) for p in paths], str(work/'cache'), a.n_trs, a.dtype, timeout_s=a.timeout,
                      threads=int(os.environ.get('OMP_NUM_THREADS', 2)))
        print(r['stdout'][-3000:]); print(r['stderr'][-3000:], file=sys.stderr)
        child, peak = r['result'], r['peak_rss_gb']
        cache_gb = disk_gb(work/'cache')
        meta = json.loads((work/'cache'/'fmri.json').read_text())
        res = dict(subjects=a.subjects, n_trs=a.n_trs, volume_shape=list(SHAPE), n_voxels=child['shape'][2], dtype=a.dtype,
                   generation_s=round(gen_s, 1), input_gz_gb=input_gb,
                   processing_s=round(r['wall_s'], 1), processing_cpu_s=round(r['cpu_s'], 1),
                   processing_wall_s_incl_startup=round(r['wall_s_incl_startup'], 1),
                   processing_peak_rss_gb=round(peak, 3), cache_gb=round(cache_gb, 3),
                   float64_all_subjects_in_ram_gb=gb(a.subjects * a.n_trs * child['shape'][2] * 8, 2),
                   targets=dict(peak_rss_gb=3.0, cache_gb=6.0),
                   meets_targets=bool(peak < 3.0 and cache_gb < 6.0),
                   report_dropped_voxels=meta['report']['dropped_voxels'], machine=machine)
        print(json.dumps(res, indent=1))
        write_result(a.out, res)
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__': main()
