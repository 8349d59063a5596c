"""Benchmark: the pipeline at Sherlock size (generated: 920 TRs, 17 subjects, 61x73x61 grid) on 2 CPU threads.

    OMP_NUM_THREADS=2 nice -n 5 timeout 3600 python bench/bench_sherlock.py [--workdir DIR] [--per-subject-steps 20]

Stages, each in a fresh child process (`_bench.run_stage`: its peak RSS, VmHWM read from /proc/self/status at the
child's end, is its own), each bounded by a timeout; times in s, memory and disk in GB:
  generate  `generate(size='sherlock')`: wall/CPU time, peak RSS, disk
  prepare   `prepare_dataset` with the default DataConfig except the UNTRAINED EnCodec codec (offline; codes carry no
            acoustic meaning, which does not change their shape or the cost downstream): time, peak RSS, cache size
  load      `load_prepared` + `MultimodalDataset` + 100 random samples (per-subject and subject-average targets)
  epoch_average, epoch_subject   one full training epoch each (measured, every step), with the DEFAULT
            GibletConfig (`model_config_for` the data; `training_sets`: windows served to all training subjects at once,
            `GibletConfig.sequence_trs`) for the subject-average and the per-subject target, then validation and a
            checkpoint write (`epoch_total_s`)
The machine's load average (other processes share the 2 cores) is recorded with every figure. Results go to
bench/results/sherlock.json after every stage (a failed or timed-out stage is recorded as such), with the git commit it
measured; the generated data and cache (several GB) are deleted at the end.
"""
from __future__ import annotations
import argparse, json, random, shutil, sys, tempfile, time, warnings
from pathlib import Path
import torch   # imported before the measured stage, in each child too
from _bench import RESULTS, PeakSampler, StageFailed, disk_gb, gb, load_avg, machine_info, rss_gb, run_stage, write_result

OUT = RESULTS/'sherlock.json'

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
    return dict(disk_gb=gb(sum(files.values())), n_files=len(files),
                nifti_gb_per_subject=gb(sum(v for k, v in files.items() if k.startswith('sherlock_nii/')) / len(list((work/'data'/'sherlock_nii').iterdir()))),
                movie_gb=gb(files['stimuli_Sherlock.m4v'], 5))

def stage_prepare(work:Path, a) -> dict:
    from giblet.data import prepare_dataset
    from giblet.audio import UntrainedCodecWarning
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UntrainedCodecWarning)
        d = prepare_dataset(work/'data', cache_dir=work/'cache', config=data_config(), verbose=True)
    parts = {p.name: disk_gb(p) for p in (work/'cache').iterdir() if p.is_dir()}
    return dict(cache_gb=disk_gb(work/'cache'), cache_parts_gb=parts, n_trs=d.n_trs, n_subjects=len(d.subjects),
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
                           sample_gb=gb(sum(v.numel() * v.element_size() for v in s.values()), 6))
    return res

def _epoch(work:Path, target:str) -> dict:
    "One full training epoch (train + validation + checkpoint) with the DEFAULT GibletConfig for `target`, measured."
    import numpy as np
    from giblet.data import load_prepared
    from giblet.losses import MultimodalLoss
    from giblet.models import MultimodalAutoencoder, parameter_table
    from giblet.pipeline import GibletConfig, model_config_for, training_sets
    from giblet.training import Trainer, TrainConfig, save_checkpoint
    from giblet.config import config_to_dict
    d = load_prepared(work/'cache')
    cfg = GibletConfig(target=target, train=TrainConfig(epochs=1, progress=False))
    mcfg = model_config_for(d, cfg.model)
    torch.manual_seed(0); model = MultimodalAutoencoder(mcfg); params = parameter_table(model, show=False)
    train_ds, val_ds, items = training_sets(d, cfg, mcfg.window_trs)
    times = []
    tr = Trainer(model, MultimodalLoss(mcfg), train_ds, val_ds, cfg.train, checkpoint_dir=work/'ckpt', model_config=config_to_dict(mcfg),
                 on_step=lambda t, e, s: times.append(time.perf_counter()), items_per_batch=items)
    l0 = load_avg(); t0 = time.perf_counter(); train = tr.train_epoch(); t_train = time.perf_counter() - t0; l1 = load_avg()
    t0 = time.perf_counter(); val = tr.evaluate(); t_val = time.perf_counter() - t0
    (work/'ckpt').mkdir(exist_ok=True)
    t0 = time.perf_counter(); save_checkpoint(tr.state_dict(), work/'ckpt'/'last.pt'); t_save = time.perf_counter() - t0
    steps = np.diff(times)   # inter-step times (data loading included), the first step excluded
    n_windows = sum(int(it['scored'].sum()) for it in train_ds) if cfg.sequence_trs else len(train_ds)
    n_subj = len(d.training_subjects()) if target == 'subject' else 1
    return dict(target=target, sequence_trs=cfg.sequence_trs, items_per_step=items, windows_per_step=cfg.train.batch_size,
                fmri_samples_per_step=cfg.train.batch_size * n_subj, n_train_windows=n_windows, n_train_fmri_samples=n_windows * n_subj,
                steps=tr.steps_per_epoch, train_epoch_s=round(t_train, 1), validation_s=round(t_val, 1),
                checkpoint_write_s=round(t_save, 2), epoch_total_s=round(t_train + t_val + t_save, 1),
                median_step_s=round(float(np.median(steps)), 2) if len(steps) else None,
                load_avg_train_start=l0, load_avg_train_end=l1,
                train_losses={k: round(v, 4) for k, v in train.items()}, val_losses={k: round(v, 4) for k, v in val.items()},
                parameters=params, parameters_total=params['total'], parameters_excluding_voxel_head=params['total excluding voxel head'],
                checkpoint_gb=disk_gb(work/'ckpt'/'last.pt'),
                checkpoint_note='last.pt as the Trainer writes it: weights + AdamW moments + scheduler/RNG state',
                weights_only_gb_fp32=gb(4 * params['total']), model_config=config_to_dict(mcfg),
                note='measured, not extrapolated: every step of one epoch, then validation on the val block and a checkpoint write; '
                     'fMRI loss on all voxels with equal weights (the reliable-voxel weights cost the same per step)')

def stage_epoch_average(work:Path, a) -> dict: return _epoch(work, 'average')
def stage_epoch_subject(work:Path, a) -> dict: return _epoch(work, 'subject')

STAGES = {'generate': (stage_generate, 1200), 'prepare': (stage_prepare, 1800), 'load': (stage_load, 600),
          'epoch_average': (stage_epoch_average, 1800), 'epoch_subject': (stage_epoch_subject, 1800)}

def measure(stage:str, work:str, a) -> dict:
    "Run one stage inside its child (`run_stage`), sampling the peak of the anonymous memory beside VmHWM."
    torch.set_num_threads(2)
    # VmHWM counts file-backed pages too (the fMRI memmap, which the kernel can drop); sample the anonymous part's peak
    l0 = load_avg()
    with PeakSampler('RssAnon', every_s=0.05) as anon: res = STAGES[stage][0](Path(work), a)
    res.update(peak_rss_anon_gb_sampled_50ms=anon.peak_gb,
               rss_at_end_gb=dict(anon=rss_gb('RssAnon'), file=rss_gb('RssFile'), shmem=rss_gb('RssShmem')),
               peak_rss_note='peak_rss_gb = VmHWM (anonymous + file-backed pages such as the memory-mapped fMRI cache); '
                             'peak_rss_anon_gb_sampled_50ms = largest RssAnon seen by a 50 ms sampler (the memory that cannot be dropped)',
               load_avg_start=res.get('load_avg_start', l0), load_avg_end=load_avg(), torch_threads=torch.get_num_threads())
    return res

# ---------------------------------------------------------------- parent
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--workdir', default=None, help='parent of the temporary folder (default: the system temporary folder)')
    ap.add_argument('--smoke-n-trs', type=int, default=None, help='(testing this script) generate fewer TRs ...')
    ap.add_argument('--smoke-n-subjects', type=int, default=None, help='(testing this script) ... and subjects')
    ap.add_argument('--stages', default=','.join(STAGES))
    ap.add_argument('--keep', action='store_true', help='keep the generated data and cache')
    ap.add_argument('--reuse', default=None, help='work folder of an earlier --keep run (rerun some --stages on its data)')
    ap.add_argument('--note', default=None, help='a note stored in the JSON (e.g. what else ran on the machine)')
    ap.add_argument('--out', default=str(OUT))
    a = ap.parse_args()
    unknown = [s for s in a.stages.split(',') if s not in STAGES]
    if unknown: ap.error(f'unknown --stages {unknown}; choose from {list(STAGES)}')
    out = Path(a.out)
    work = Path(a.reuse) if a.reuse else Path(tempfile.mkdtemp(prefix='giblet_bench_sherlock_', dir=a.workdir))
    previous = json.loads(out.read_text()) if a.reuse and out.exists() else None
    results = dict(description='giblet at Sherlock size (generated data: 920 TRs, 17 subjects, 61x73x61 3 mm grid) on 2 CPU threads; '
                               'each stage in a fresh child process (peak RSS = that child\'s VmHWM)',
                   codec_note='prepared with the UNTRAINED EnCodec (offline): the codes have the real shape (8 codebooks x 113 frames per TR) '
                              'but no acoustic meaning; timings and sizes are those of the real pipeline',
                   machine=machine_info(), stages={}, notes=[a.note] if a.note else [])
    if previous:
        previous.pop('provenance', None)
        previous['notes'] = previous.get('notes', []) + results['notes']; previous['machine']['load_avg'] = load_avg(); results = previous
    try:
        for stage in a.stages.split(','):
            limit = STAGES[stage][1]
            print(f'=== {stage} (timeout {limit} s, load {load_avg()})', flush=True)
            key = f'{stage}_rerun' if a.reuse else stage   # a rerun on kept data is stored beside the first run
            try: r = run_stage(measure, stage, str(work), a, timeout_s=limit, threads=2)
            except StageFailed as e:
                status = f'timed out after {limit} s' if e.timed_out else f'failed (exit {e.returncode})'
                results['stages'][key] = dict(status=status, stderr_tail=e.stderr[-3000:], load_avg=load_avg()); write_result(out, results)
                print(f'{stage}: {status}'); print(e.stdout[-3000:]); print(e.stderr[-3000:], file=sys.stderr); break
            res = dict(r['result'], wall_s=round(r['wall_s'], 1), cpu_s=round(r['cpu_s'], 1), peak_rss_gb=r['peak_rss_gb'],
                       wall_s_incl_startup=round(r['wall_s_incl_startup'], 1))
            log = [l.replace(str(work), 'WORK') for l in (r['stdout'] + r['stderr']).splitlines() if l.startswith('[')]
            if log: res['log'] = log[-40:]
            results['stages'][key] = res; write_result(out, results)
            print(json.dumps({k: v for k, v in res.items() if k not in ('log', 'model_config', 'parameters')}, default=float), flush=True)
    finally:
        if a.keep: print(f'kept {work}')
        else: shutil.rmtree(work, ignore_errors=True); print(f'removed {work}')
    results['machine']['load_avg_end'] = load_avg()
    write_result(out, results)
    s = results['stages']
    print('\nsummary:', json.dumps({k: {m: v.get(m) for m in ('wall_s', 'peak_rss_gb', 'disk_gb', 'cache_gb', 'train_epoch_s', 'steps',
                                                             'epoch_total_s', 'checkpoint_gb', 'parameters_total', 'status') if m in v}
                                    for k, v in s.items()}, indent=1))

if __name__ == '__main__': main()
