"""Benchmark: generate the `sherlock`-size mini-Sherlock (920 TRs, 17 subjects, 61x73x61 grid) with `giblet.synthetic.generate`.

Runs the generator in a fresh child process (its own peak RSS, VmHWM, is measured there, plus its CPU time), records
wall time, peak RSS and the size on disk of every output in bench/results/synthetic.json under the key "generate",
then deletes the generated folder. Other keys already in that JSON (e.g. "load", the dataset-loading figures added by
the data benchmark) are kept.

    OMP_NUM_THREADS=2 timeout 1800 python bench/bench_synthetic.py [--size sherlock] [--seed 0]

Target (issue 4): bounded memory (one subject at a time; the peak must not grow with the number of subjects).
"""
from __future__ import annotations
import argparse, json, os, platform, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

def child(size:str, seed:int, out:str) -> dict:
    "The measured step, run in a fresh process."
    from giblet.synthetic import generate
    t0, c0 = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    generate(out, size=size, seed=seed, verbose=True)
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    hwm_kb = int([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:')][0].split()[1])
    return dict(seconds=time.time() - t0, cpu_seconds=(c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime), peak_rss_bytes=hwm_kb * 1024)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='sherlock', choices=['tiny', 'sherlock']); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--workdir', default=None, help='parent folder of the generated data (default: the system temporary folder)')
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'synthetic.json'))
    ap.add_argument('--child', metavar='OUT_DIR', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print('RESULT ' + json.dumps(child(a.size, a.seed, a.child)), flush=True); return
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_synthetic_', dir=a.workdir))
    try:
        data = work / 'mini_sherlock'
        cmd = [sys.executable, __file__, '--child', str(data), '--size', a.size, '--seed', str(a.seed)]
        t0 = time.time(); r = subprocess.run(cmd, capture_output=True, text=True); wall = time.time() - t0
        print(r.stdout[-4000:]); print(r.stderr[-4000:], file=sys.stderr)
        if r.returncode: sys.exit(f'generation failed with code {r.returncode}')
        res = json.loads([l for l in r.stdout.splitlines() if l.startswith('RESULT ')][-1][7:])
        files = {p.relative_to(data).as_posix(): p.stat().st_size for p in sorted(data.rglob('*')) if p.is_file()}
        nii = [v for k, v in files.items() if k.startswith('sherlock_nii/')]
        meta = json.loads((data / 'ground_truth' / 'truth.json').read_text())
        cfg = meta['config']
        gen = dict(size=a.size, seed=a.seed, n_trs=cfg['n_trs'], n_subjects=cfg['n_subjects'], volume_shape=meta['grid']['shape'],
                   n_brain_voxels=meta['grid']['n_brain_voxels'], nifti_dtype=cfg['nifti_dtype'], video=f"{cfg['width']}x{cfg['height']} @ {cfg['fps']} fps",
                   audio=f"{cfg['sample_rate']} Hz x {cfg['audio_channels']}", stimulus_seconds=cfg['n_trs'] * cfg['tr'],
                   seconds=round(res['seconds'], 1), cpu_seconds=round(res['cpu_seconds'], 1), wall_seconds_incl_startup=round(wall, 1),
                   peak_rss_bytes=res['peak_rss_bytes'], peak_rss_mb=round(res['peak_rss_bytes'] / 2**20, 1),
                   disk_bytes=sum(files.values()), disk_mb=round(sum(files.values()) / 2**20, 1),
                   movie_mb=round(files['stimuli_Sherlock.m4v'] / 2**20, 2), nifti_mb_per_subject=round(sum(nii) / len(nii) / 2**20, 1),
                   files=files, log=[l for l in r.stdout.splitlines() if l.startswith('[')],
                   machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                                load_average_at_end=[round(x, 2) for x in os.getloadavg()]),
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    results['generate'] = gen
    tmp = out.with_name(f'.{out.name}.tmp'); tmp.write_text(json.dumps(results, indent=1) + '\n'); os.replace(tmp, out)
    print(f"generated {a.size}: {gen['n_subjects']} subjects x {gen['n_trs']} TRs in {gen['seconds']} s "
          f"(cpu {gen['cpu_seconds']} s), peak RSS {gen['peak_rss_mb']} MB, disk {gen['disk_mb']} MB -> {out}")

if __name__ == '__main__': main()
