"""Benchmark: generate the `sherlock`-size mini-Sherlock (920 TRs, 17 subjects, 61x73x61 grid) with `giblet.synthetic.generate`.

Runs the generator in a fresh child process (`_bench.run_stage`: its own peak RSS, VmHWM, and CPU time), records
wall time (s), peak RSS and the size on disk of the outputs (GB) in bench/results/synthetic.json under the key
"generate" (with the git commit it measured), then deletes the generated folder. Other keys already in that JSON
(e.g. "load", the dataset-loading figures added by the data benchmark) are kept.

    OMP_NUM_THREADS=2 timeout 1800 python bench/bench_synthetic.py [--size sherlock] [--seed 0]

Target (issue 4): bounded memory (one subject at a time; the peak must not grow with the number of subjects).
"""
from __future__ import annotations
import argparse, json, os, shutil, sys, tempfile
from pathlib import Path
from _bench import RESULTS, gb, machine_info, run_stage, write_result
from giblet.synthetic import generate as _generate   # imported before the measured call, in the child too

def generate(size:str, seed:int, out:str):
    "The measured step, run in a fresh process."
    _generate(out, size=size, seed=seed, verbose=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='sherlock', choices=['tiny', 'sherlock']); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--workdir', default=None, help='parent folder of the generated data (default: the system temporary folder)')
    ap.add_argument('--out', default=str(RESULTS/'synthetic.json'))
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_synthetic_', dir=a.workdir))
    try:
        data = work / 'mini_sherlock'
        machine = machine_info()
        r = run_stage(generate, a.size, a.seed, str(data), threads=int(os.environ.get('OMP_NUM_THREADS', 2)))
        print(r['stdout'][-4000:]); print(r['stderr'][-4000:], file=sys.stderr)
        files = {p.relative_to(data).as_posix(): p.stat().st_size for p in sorted(data.rglob('*')) if p.is_file()}
        nii = [v for k, v in files.items() if k.startswith('sherlock_nii/')]
        meta = json.loads((data / 'ground_truth' / 'truth.json').read_text())
        cfg = meta['config']
        log = [l.replace(str(work), 'WORK') for l in (r['stdout'] + r['stderr']).splitlines() if l.startswith('[')]
        gen = dict(size=a.size, seed=a.seed, n_trs=cfg['n_trs'], n_subjects=cfg['n_subjects'], volume_shape=meta['grid']['shape'],
                   n_brain_voxels=meta['grid']['n_brain_voxels'], nifti_dtype=cfg['nifti_dtype'], video=f"{cfg['width']}x{cfg['height']} @ {cfg['fps']} fps",
                   audio=f"{cfg['sample_rate']} Hz x {cfg['audio_channels']}", stimulus_s=cfg['n_trs'] * cfg['tr'],
                   wall_s=round(r['wall_s'], 1), cpu_s=round(r['cpu_s'], 1), wall_s_incl_startup=round(r['wall_s_incl_startup'], 1),
                   peak_rss_gb=round(r['peak_rss_gb'], 3), disk_gb=gb(sum(files.values())),
                   movie_gb=gb(files['stimuli_Sherlock.m4v'], 5), nifti_gb_per_subject=gb(sum(nii) / len(nii)),
                   file_bytes=files, log=log, machine=machine)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result(a.out, gen, key='generate')
    print(f"generated {a.size}: {gen['n_subjects']} subjects x {gen['n_trs']} TRs in {gen['wall_s']} s "
          f"(cpu {gen['cpu_s']} s), peak RSS {gen['peak_rss_gb']} GB, disk {gen['disk_gb']} GB -> {a.out}")

if __name__ == '__main__': main()
