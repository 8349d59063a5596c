"""Benchmark: the pipeline at Sherlock size (generated: 920 TRs, 17 subjects, 61x73x61 grid) on 2 CPU threads.

    OMP_NUM_THREADS=2 nice -n 5 timeout 3600 python bench/bench_sherlock.py [--workdir DIR] [--per-subject-steps 20]

Stages, each in a fresh child process (so its peak RSS, VmHWM read from /proc/self/status at the child's end, is its
own), each bounded by a timeout:
  generate  `generate(size='sherlock')`: wall/CPU time, peak RSS, disk
  prepare   `prepare_dataset` with the default DataConfig except the UNTRAINED EnCodec codec (offline; codes carry no
            acoustic meaning, which does not change their shape or the cost downstream): time, peak RSS, cache size
  load      `load_prepared` + `MultimodalDataset` + 100 random samples (per-subject and subject-average targets)
  epoch     one training epoch with the DEFAULT ModelConfig (`model_config_for` the data) and TrainConfig: a full
            per-subject epoch (~10k windows, ~600 steps) takes hours on 2 CPU cores, so the measured epoch uses
            target='average' (one sample per TR); then validation and a checkpoint write
  subject_steps  N optimiser steps with the per-subject target, timed; the per-subject epoch time is EXTRAPOLATED
            from their median step time (labelled as such)
The machine's load average (other processes share the 2 cores) is recorded with every figure. Results go to
bench/results/sherlock.json after every stage (a failed or timed-out stage is recorded as such); the generated data and
cache (several GB) are deleted at the end.
"""
from __future__ import annotations
import argparse, dataclasses, json, os, platform, random, resource, shutil, subprocess, sys, tempfile, time, warnings
from pathlib import Path

OUT = Path(__file__).parent / 'results' / 'sherlock.json'

def vmhwm() -> int:
    return int([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:')][0].split()[1]) * 1024

def load() -> list: return [round(x, 2) for x in os.getloadavg()]

def du(path) -> int: return sum(p.stat().st_size for p in Path(path).rglob('*') if p.is_file())

def mb(b) -> float: return round(b / 2**20, 1)

def data_config():
    from giblet.data import DataConfig
    from giblet.audio import AudioConfig
    return DataConfig(audio=AudioConfig(codec='untrained'))

# ---------------------------------------------------------------- children (one measured stage each)
def stage_generate(work:Path, a) -> dict:
    from giblet.synthetic import generate
    over = dict(n_trs=a.smoke_n_trs, n_subjects=a.smoke_n_subjects) if a.smoke_n_trs else {}   # smoke test of this script only
    generate(work/'data', size='sherlock', seed=0, verbose=True, **over)
    files = {p.relative_to(work/'data').as_posix(): p.stat().st_size for p in (work/'data').rglob('*') if p.is_file()}
    return dict(disk_mb=mb(sum(files.values())), n_files=len(files),
                nifti_mb_per_subject=mb(sum(v for k, v in files.items() if k.startswith('sherlock_nii/')) / len(list((work/'data'/'sherlock_nii').iterdir()))),
                movie_mb=mb(files['stimuli_Sherlock.m4v']))

def stage_prepare(work:Path, a) -> dict:
    from giblet.data import prepare_dataset
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*UNTRAINED.*')
        d = prepare_dataset(work/'data', cache_dir=work/'cache', config=data_config(), verbose=True)
    parts = {p.name: mb(du(p)) for p in (work/'cache').iterdir() if p.is_dir()}
    return dict(cache_mb=mb(du(work/'cache')), cache_parts_mb=parts, n_trs=d.n_trs, n_subjects=len(d.subjects),
                n_voxels=int(d.fmri.n_voxels), splits={k: len(v) for k, v in d.splits.items()},
                shapes=dict(audio=list(d.audio.shape), audio_dtype=str(d.audio.dtype), video=list(d.video.shape),
                            text=list(d.text.shape), fmri=list(d.fmri.data.shape), fmri_dtype=str(d.fmri.data.dtype)),
                codec=dict(model_id=d.audio_meta.get('model_id'), meaningful=d.audio_meta.get('meaningful')))

def stage_load(work:Path, a) -> dict:
    from giblet.data import load_prepared, MultimodalDataset
    from giblet.models import ModelConfig
    W = ModelConfig().window_trs
    t0 = time.perf_counter(); d = load_prepared(work/'cache'); t_open = time.perf_counter() - t0
    res = dict(load_prepared_s=round(t_open, 3), window_trs=W)
    for target in ('subject', 'average'):
        t0 = time.perf_counter(); ds = MultimodalDataset(d, 'train', W, target); t_ds = time.perf_counter() - t0
        idx = random.Random(0).sample(range(len(ds)), min(100, len(ds)))
        t0 = time.perf_counter()
        for i in idx: s = ds[i]
        t_read = time.perf_counter() - t0
        res[target] = dict(dataset_init_s=round(t_ds, 4), n_samples=len(ds), n_read=len(idx), read_random_s=round(t_read, 3),
                           ms_per_sample=round(1000 * t_read / len(idx), 2),
                           sample_mb=round(sum(v.numel() * v.element_size() for v in s.values()) / 2**20, 2))
    return res

def _model_and_data(work:Path, target:str):
    import torch
    from giblet.data import load_prepared, MultimodalDataset
    from giblet.models import ModelConfig, MultimodalAutoencoder, parameter_table
    from giblet.cli import model_config_for
    d = load_prepared(work/'cache')
    mcfg = model_config_for(d, ModelConfig())
    torch.manual_seed(0)
    model = MultimodalAutoencoder(mcfg)
    return d, mcfg, model, parameter_table(model, show=False), MultimodalDataset(d, 'train', mcfg.window_trs, target)

class _Stop(Exception): pass

def stage_epoch(work:Path, a) -> dict:
    import numpy as np
    from giblet.data import MultimodalDataset
    from giblet.losses import MultimodalLoss
    from giblet.training import Trainer, TrainConfig, save_checkpoint
    from giblet.config import config_to_dict
    d, mcfg, model, params, train_ds = _model_and_data(work, 'average')
    val_ds = MultimodalDataset(d, 'val', mcfg.window_trs, 'average')
    tcfg = TrainConfig(epochs=1, progress=False)
    times = []
    tr = Trainer(model, MultimodalLoss(mcfg), train_ds, val_ds, tcfg, checkpoint_dir=work/'ckpt', model_config=config_to_dict(mcfg),
                 on_step=lambda t, e, s: times.append(time.perf_counter()))
    l0 = load(); t0 = time.perf_counter(); train = tr.train_epoch(); t_train = time.perf_counter() - t0; l1 = load()
    t0 = time.perf_counter(); val = tr.evaluate(); t_val = time.perf_counter() - t0
    (work/'ckpt').mkdir(exist_ok=True)
    t0 = time.perf_counter(); save_checkpoint(tr.state_dict(), work/'ckpt'/'last.pt'); t_save = time.perf_counter() - t0
    steps = np.diff(times)   # inter-step times (data loading included), the first step excluded
    return dict(target='average', n_train_samples=len(train_ds), n_val_samples=len(val_ds), batch_size=tcfg.batch_size,
                steps=tr.steps_per_epoch, train_epoch_s=round(t_train, 1), validation_s=round(t_val, 1),
                checkpoint_write_s=round(t_save, 2), epoch_total_s=round(t_train + t_val + t_save, 1),
                median_step_s=round(float(np.median(steps)), 2) if len(steps) else None,
                load_avg_train_start=l0, load_avg_train_end=l1,
                train_losses={k: round(v, 4) for k, v in train.items()}, val_losses={k: round(v, 4) for k, v in val.items()},
                parameters=params, parameters_total=params['total'], parameters_excluding_voxel_head=params['total excluding voxel head'],
                checkpoint_mb=mb((work/'ckpt'/'last.pt').stat().st_size),
                checkpoint_note='last.pt as the Trainer writes it: weights + AdamW moments + scheduler/RNG state',
                weights_only_mb_fp32=mb(4 * params['total']),
                model_config=config_to_dict(mcfg))

def stage_subject_steps(work:Path, a) -> dict:
    import numpy as np
    from giblet.losses import MultimodalLoss
    from giblet.training import Trainer, TrainConfig
    d, mcfg, model, params, train_ds = _model_and_data(work, 'subject')
    tcfg = TrainConfig(epochs=1, progress=False)
    times = []
    def on_step(t, e, s):
        times.append(time.perf_counter())
        if len(times) >= a.per_subject_steps + 1: raise _Stop
    tr = Trainer(model, MultimodalLoss(mcfg), train_ds, None, tcfg, on_step=on_step)
    l0 = load(); t0 = time.perf_counter(); times.append(t0)
    try: tr.train_epoch()
    except _Stop: pass
    steps = np.diff(times)        # step i: from the end of step i-1 (or the start) to the end of step i, data loading included
    med = float(np.median(steps[1:]))   # the first step includes the loader's start-up
    return dict(target='subject', n_train_samples=len(train_ds), batch_size=tcfg.batch_size, steps_per_epoch=tr.steps_per_epoch,
                timed_steps=len(steps), step_seconds=[round(float(x), 2) for x in steps], median_step_s=round(med, 2),
                mean_step_s=round(float(steps.mean()), 2), timed_total_s=round(float(steps.sum()), 1),
                EXTRAPOLATED_epoch_s=round(med * tr.steps_per_epoch, 0), EXTRAPOLATED_epoch_h=round(med * tr.steps_per_epoch / 3600, 2),
                EXTRAPOLATED_epoch_s_from_mean_step=round(float(steps[1:].mean()) * tr.steps_per_epoch, 0),
                extrapolation='EXTRAPOLATED, not measured: median step time (steps 2..N) x steps_per_epoch; excludes validation and checkpoint',
                load_avg_start=l0, load_avg_end=load())

STAGES = {'generate': (stage_generate, 1200), 'prepare': (stage_prepare, 1800), 'load': (stage_load, 600),
          'epoch': (stage_epoch, 1800), 'subject_steps': (stage_subject_steps, 900)}

def status_mb(key:str) -> float:
    return mb(int([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith(key + ':')][0].split()[1]) * 1024)

def child(stage:str, work:Path, a):
    import threading, torch
    torch.set_num_threads(2)
    # VmHWM counts file-backed pages too (the fMRI memmap, which the kernel can drop); sample the anonymous part's peak
    peak_anon, done = [0.0], threading.Event()
    def sample():
        while not done.wait(0.05): peak_anon[0] = max(peak_anon[0], status_mb('RssAnon'))
    threading.Thread(target=sample, daemon=True).start()
    l0, c0, t0 = load(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    res = STAGES[stage][0](work, a)
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    done.set(); peak_anon[0] = max(peak_anon[0], status_mb('RssAnon'))
    res.update(peak_rss_anon_mb_sampled_50ms=peak_anon[0], rss_at_end_mb=dict(anon=status_mb('RssAnon'), file=status_mb('RssFile'), shmem=status_mb('RssShmem')),
               peak_rss_note='peak_rss_mb = VmHWM (anonymous + file-backed pages such as the memory-mapped fMRI cache); '
                             'peak_rss_anon_mb_sampled_50ms = largest RssAnon seen by a 50 ms sampler (the memory that cannot be dropped)')
    res.update(wall_s=round(time.perf_counter() - t0, 1), cpu_s=round((c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime), 1),
               peak_rss_mb=mb(vmhwm()), load_avg_start=res.get('load_avg_start', l0), load_avg_end=load(), torch_threads=torch.get_num_threads())
    print('RESULT ' + json.dumps(res, default=float), flush=True)

# ---------------------------------------------------------------- parent
def save(results:dict, out:Path):
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f'.{out.name}.tmp'); tmp.write_text(json.dumps(results, indent=1, default=float) + '\n'); os.replace(tmp, out)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--workdir', default=None, help='parent of the temporary folder (default: the system temporary folder)')
    ap.add_argument('--per-subject-steps', type=int, default=20)
    ap.add_argument('--smoke-n-trs', type=int, default=None, help='(testing this script) generate fewer TRs ...')
    ap.add_argument('--smoke-n-subjects', type=int, default=None, help='(testing this script) ... and subjects')
    ap.add_argument('--stages', default=','.join(STAGES))
    ap.add_argument('--keep', action='store_true', help='keep the generated data and cache')
    ap.add_argument('--reuse', default=None, help='work folder of an earlier --keep run (rerun some --stages on its data)')
    ap.add_argument('--note', default=None, help='a note stored in the JSON (e.g. what else ran on the machine)')
    ap.add_argument('--out', default=str(OUT))
    ap.add_argument('--child', default=None, help=argparse.SUPPRESS); ap.add_argument('--work', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: child(a.child, Path(a.work), a); return
    out = Path(a.out)
    work = Path(a.reuse) if a.reuse else Path(tempfile.mkdtemp(prefix='giblet_bench_sherlock_', dir=a.workdir))
    previous = json.loads(out.read_text()) if a.reuse and out.exists() else None
    env = {**os.environ, 'OMP_NUM_THREADS': '2', 'MKL_NUM_THREADS': '2'}
    results = dict(description='giblet at Sherlock size (generated data: 920 TRs, 17 subjects, 61x73x61 3 mm grid) on 2 CPU threads; '
                               'each stage in a fresh child process (peak RSS = that child\'s VmHWM)',
                   codec_note='prepared with the UNTRAINED EnCodec (offline): the codes have the real shape (8 codebooks x 113 frames per TR) '
                              'but no acoustic meaning; timings and sizes are those of the real pipeline',
                   machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                                load_avg_start=load()),
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), stages={}, notes=[a.note] if a.note else [])
    if previous: previous['notes'] = previous.get('notes', []) + results['notes']; previous['machine']['load_avg_start'] = load(); results = previous
    try:
        for stage in a.stages.split(','):
            limit = STAGES[stage][1]
            print(f'=== {stage} (timeout {limit} s, load {load()})', flush=True)
            cmd = [sys.executable, __file__, '--child', stage, '--work', str(work), '--per-subject-steps', str(a.per_subject_steps)]
            if a.smoke_n_trs: cmd += ['--smoke-n-trs', str(a.smoke_n_trs), '--smoke-n-subjects', str(a.smoke_n_subjects)]
            t0 = time.time()
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
            except subprocess.TimeoutExpired as e:
                results['stages'][stage] = dict(status=f'timed out after {limit} s', load_avg=load()); save(results, out)
                print(f'{stage}: TIMED OUT after {limit} s'); break
            wall = time.time() - t0
            lines = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
            if r.returncode or not lines:
                results['stages'][stage] = dict(status=f'failed (exit {r.returncode})', stderr_tail=r.stderr[-3000:], load_avg=load())
                save(results, out); print(r.stdout[-3000:]); print(r.stderr[-3000:], file=sys.stderr); break
            res = json.loads(lines[-1][7:]); res['wall_s_incl_startup'] = round(wall, 1)
            log = [l for l in r.stdout.splitlines() if l.startswith('[')]
            if log: res['log'] = log[-40:]
            key = f'{stage}_rerun' if a.reuse else stage   # a rerun on kept data is stored beside the first run
            results['stages'][key] = res; save(results, out)
            print(json.dumps({k: v for k, v in res.items() if k not in ('log', 'model_config', 'parameters')}, default=float), flush=True)
    finally:
        if a.keep: print(f'kept {work}')
        else: shutil.rmtree(work, ignore_errors=True); print(f'removed {work}')
    results['machine']['load_avg_end'] = load()
    save(results, out)
    s = results['stages']
    print('\nsummary:', json.dumps({k: {m: v.get(m) for m in ('wall_s', 'peak_rss_mb', 'disk_mb', 'cache_mb', 'train_epoch_s', 'steps',
                                                             'checkpoint_mb', 'parameters_total', 'EXTRAPOLATED_epoch_h', 'status') if m in v}
                                    for k, v in s.items()}, indent=1))

if __name__ == '__main__': main()
