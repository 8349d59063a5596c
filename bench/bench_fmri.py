"""Benchmark: process Sherlock-sized fMRI (17 subjects x 920 TRs on the 61x73x61 3 mm MNI grid) into the voxel cache.

Writes generated subject runs (int16 .nii.gz, one subject at a time) into a temporary folder, runs
`giblet.fmri.prepare_fmri` in a fresh child process (its peak RSS, VmHWM, is measured on its own), records wall
times, peak RSS and cache size in bench/results/fmri.json, then deletes the generated inputs and the cache.

    OMP_NUM_THREADS=2 timeout 3000 python bench/bench_fmri.py [--subjects 17] [--n-trs 920] [--dtype float32]

Targets (issue 3): peak RSS of processing < 3 GB, cache < 6 GB.
"""
from __future__ import annotations
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

SHAPE = (61, 73, 61)
AFFINE = np.array([[-3., 0, 0, 90], [0, 3, 0, -126], [0, 0, 3, -72], [0, 0, 0, 1]])  # standard 3 mm MNI grid of Sherlock

def generate(folder:Path, n_subjects:int, n_trs:int, tr:float=1.5) -> list[Path]:
    "Write `n_subjects` runs: a shared slow signal plus subject noise and drift, int16, inside a dilated MNI brain mask, zeros outside."
    import nibabel as nib
    from scipy.ndimage import binary_dilation
    from giblet.fmri import brain_mask
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
        print(f'generated {p.name} ({p.stat().st_size / 1e6:.0f} MB)', flush=True)
    return paths

def process(paths:list[str], out:str, n_trs:int, dtype:str, train_frac:float=0.8) -> dict:
    "The measured step, run in a child process."
    from giblet.fmri import FMRIConfig, prepare_fmri
    t0 = time.time()
    cache = prepare_fmri(paths, out, np.arange(int(train_frac * n_trs)), FMRIConfig(dtype=dtype), stimulus_n_trs=n_trs, verbose=True)
    # VmHWM is this process's own peak resident set; getrusage's ru_maxrss would also count the parent's peak,
    # which Linux carries over across the fork/exec that started this process.
    hwm_kb = int([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:')][0].split()[1])
    return dict(seconds=time.time() - t0, shape=list(cache.data.shape), dtype=str(cache.data.dtype), peak_rss_bytes=hwm_kb * 1024)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--subjects', type=int, default=17); ap.add_argument('--n-trs', type=int, default=920)
    ap.add_argument('--dtype', default='float32', choices=['float32', 'float16'])
    ap.add_argument('--workdir', default=None, help='folder for the generated inputs and the cache (default: a new temporary folder)')
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'fmri.json'))
    ap.add_argument('--child', nargs=2, metavar=('INPUT_LIST_JSON', 'CACHE_DIR'), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        res = process(json.loads(Path(a.child[0]).read_text()), a.child[1], a.n_trs, a.dtype)
        print('RESULT ' + json.dumps(res), flush=True); return
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_fmri_', dir=a.workdir))
    try:
        t0 = time.time(); paths = generate(work, a.subjects, a.n_trs); gen_s = time.time() - t0
        input_bytes = sum(p.stat().st_size for p in paths)
        (work/'inputs.json').write_text(json.dumps([str(p) for p in paths]))
        cmd = [sys.executable, __file__, '--child', str(work/'inputs.json'), str(work/'cache'), '--n-trs', str(a.n_trs), '--dtype', a.dtype]
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '2')})
        proc_wall = time.time() - t0
        print(r.stdout[-3000:]); print(r.stderr[-3000:], file=sys.stderr)
        if r.returncode: sys.exit(f'processing failed with code {r.returncode}')
        child = json.loads([l for l in r.stdout.splitlines() if l.startswith('RESULT ')][-1][7:])
        peak_rss = child['peak_rss_bytes']
        cache_bytes = sum(f.stat().st_size for f in (work/'cache').iterdir())
        meta = json.loads((work/'cache'/'fmri.json').read_text())
        res = dict(subjects=a.subjects, n_trs=a.n_trs, volume_shape=list(SHAPE), n_voxels=child['shape'][2], dtype=a.dtype,
                   generation_seconds=round(gen_s, 1), input_gz_bytes=input_bytes,
                   processing_seconds=round(child['seconds'], 1), processing_wall_seconds_incl_startup=round(proc_wall, 1),
                   processing_peak_rss_bytes=peak_rss, processing_peak_rss_gb=round(peak_rss / 1e9, 3),
                   cache_bytes=cache_bytes, cache_gb=round(cache_bytes / 1e9, 3),
                   float64_all_subjects_in_ram_gb=round(a.subjects * a.n_trs * child['shape'][2] * 8 / 1e9, 2),
                   targets=dict(peak_rss_gb=3.0, cache_gb=6.0),
                   meets_targets=bool(peak_rss < 3e9 and cache_bytes < 6e9),
                   report_dropped_voxels=meta['report']['dropped_voxels'],
                   machine=dict(cpus=os.cpu_count(), omp_threads=os.environ.get('OMP_NUM_THREADS'), python=platform.python_version()),
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps(res, indent=1))
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f'.{out.name}.tmp'); tmp.write_text(json.dumps(res, indent=1) + '\n'); os.replace(tmp, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__': main()
