"""Benchmark: the whole demo pipeline (generate -> prepare -> train -> evaluate) on a tiny generated dataset, plus
head-to-head variants on the same data: the classification vs regression audio head, and EnCodec codes vs the mel path.

    OMP_NUM_THREADS=2 nice -n 5 timeout 3000 python bench/bench_pipeline.py [--epochs N] [--workdir DIR]

Data: `generate(n_trs=300, n_subjects=3, seed=0)`, prepared with `demo_config().data` (the UNTRAINED EnCodec codec: codes
are diverse but carry no acoustic meaning, so code accuracy and decoded-audio metrics say nothing about real audio).
Model/training: `demo_config()` (subject-average target, its default epochs and early stopping); every variant uses the
same TrainConfig (same maximum epochs, patience and seed) and only changes the audio head or the audio features.
Figures: held-out (test block) mean r on planted vs other voxels, ridge baseline, noise ceiling, ceiling fraction,
permutation p-value, code accuracy vs chance, video PSNR/SSIM, text retrieval vs chance, test-block losses, wall time of
each stage (s) and peak RSS (GB; VmHWM, reset before each stage via /proc/self/clear_refs where the kernel allows it).
Writes bench/results/pipeline.json (with the git commit it measured); the generated data and runs live in a temporary
folder that is deleted.
"""
from __future__ import annotations
import argparse, dataclasses, json, shutil, sys, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch
from _bench import RESULTS, load_avg, machine_info, peak_rss_gb, reset_peak_rss, rss_gb, write_result

class Stage:
    "Times an in-process stage and records its peak RSS (since the reset at its start) and the machine load."
    def __init__(self, name:str, log:dict): self.name, self.log = name, log
    def __enter__(self):
        self.reset = reset_peak_rss(); self.rss0 = rss_gb(); self.t0 = time.perf_counter(); self.load0 = load_avg()
        print(f'--- {self.name} (load {self.load0})', flush=True); return self
    def __exit__(self, *exc):
        if exc[0] is not None: return False
        rec = dict(wall_s=round(time.perf_counter() - self.t0, 2), peak_rss_gb=peak_rss_gb(),
                   rss_at_start_gb=self.rss0, peak_is_stage_only=self.reset,
                   load_avg_start=self.load0, load_avg_end=load_avg())
        self.log[self.name] = rec
        print(f'    {self.name}: {rec}', flush=True)

def r3(x): return None if x is None else round(float(x), 4)

@torch.no_grad()
def test_losses(model, data, target:str='average', batch_size:int=16) -> dict:
    "Mean of each training loss over the test block (dropout off), the same definitions as training/validation."
    from giblet.data import MultimodalDataset
    from giblet.losses import MultimodalLoss
    model.eval(); loss_fn = MultimodalLoss(model.cfg)
    ds = MultimodalDataset(data, 'test', model.cfg.window_trs, target)
    sums, n = {}, 0
    for i in range(0, len(ds), batch_size):
        items = [ds[j] for j in range(i, min(i + batch_size, len(ds)))]
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        for k, v in loss_fn(model(batch), batch).items(): sums[k] = sums.get(k, 0.0) + float(v) * len(items)
        n += len(items)
    return {k: r3(v / n) for k, v in sums.items()}

@torch.no_grad()
def mel_test_nmse(model, data) -> float:
    "Normalised MSE of the predicted log-mel over the whole test block: MSE / variance of the true log-mel (1 = predicting its mean)."
    from giblet.pipeline import predict
    p = predict(model, data, 'test', subjects=data.subjects[:1])
    true = np.asarray(data.audio[p['trs']], dtype=np.float32)
    pred = p['mel'].reshape(true.shape)
    return float(np.mean((pred - true) ** 2) / np.var(true))

def summarise(metrics:dict, history:list, train_s:float, eval_s:float, model, data, mel:bool=False) -> dict:
    "The figures of one trained variant."
    f, sa = metrics['fmri'], metrics['fmri'].get('subject_average', {})
    best = min(history, key=lambda h: h.get('val_total', h['train_total']))
    out = dict(
        fmri=dict(mean_r_planted=r3(f.get('mean_r_planted')), mean_r_other=r3(f.get('mean_r_other')), mean_r_all=r3(f.get('mean_r_all')),
                  subject_average_r_planted=r3(sa.get('mean_r_model_planted')), subject_average_r_other=r3(sa.get('mean_r_model_other')),
                  ridge_r_planted=r3(sa.get('mean_r_ridge_planted')), ridge_r_all=r3(sa.get('mean_r_ridge')),
                  ceiling_planted=r3(f.get('ceiling_mean_planted')), ceiling_fraction_planted=r3(f.get('ceiling_fraction_planted')),
                  beats_ridge=f.get('beats_ridge'), p_value=f.get('p_value_mean_r'), permutation_mean_r=r3(f.get('permutation_mean_r')),
                  null_mean_r_95=r3(f.get('null_mean_r_95')), permutation=f"{f.get('permutation_method')} x {f.get('n_permutations')}, subject-average prediction, planted voxels",
                  n_voxels_p05=f.get('n_voxels_p05'), n_planted=f.get('n_planted'), n_voxels=f.get('n_voxels'),
                  note='mean_r_*: per-subject r averaged; subject_average_*: r of the subject-average prediction vs the subject-average response (the ridge is fit on the subject average; compare ridge_* with subject_average_*); ceiling from the planted noiseless signal vs one subject'),
        test_losses=test_losses(model, data), epochs_run=len(history), best_epoch=best['epoch'],
        train_s=round(train_s, 1), epoch_s=round(sum(h['seconds'] for h in history) / len(history), 2),
        evaluate_s=round(eval_s, 1), parameters_total=metrics['model_parameters']['total'])
    if 'audio' in metrics:
        a = metrics['audio']
        out['audio'] = dict(code_accuracy=r3(a['mean_accuracy']), code_accuracy_per_codebook=[r3(x) for x in a.get('accuracy', [])],
                            chance_majority=r3(np.mean(a['chance_majority'])), chance_uniform=a['chance_uniform'],
                            codec_meaningful=a.get('codec_meaningful'))
    if mel: out['audio'] = dict(mel_normalised_mse_test=r3(mel_test_nmse(model, data)), mel_loss_test=out['test_losses'].get('audio'),
                                note='normalised MSE: MSE / variance of the true log-mel (1 = predicting the mean)')
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--epochs', type=int, default=None, help='maximum epochs for every variant (default: demo_config().train.epochs)')
    ap.add_argument('--n-trs', type=int, default=300); ap.add_argument('--n-subjects', type=int, default=3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--workdir', default=None, help='parent of the temporary folder (default: the system temporary folder)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder (data, runs, reports)')
    ap.add_argument('--out', default=str(RESULTS/'pipeline.json'))
    a = ap.parse_args()
    torch.set_num_threads(2)
    from giblet.synthetic import generate
    from giblet.data import prepare_dataset
    from giblet.pipeline import demo_config, train_model, evaluate_model
    from giblet.audio import UntrainedCodecWarning
    from giblet.models import ModelConfig
    t_all = time.perf_counter(); machine = machine_info(torch_threads=torch.get_num_threads())
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_pipeline_', dir=a.workdir))
    stages, variants = {}, {}
    try:
        cfg = demo_config(); cfg.train.progress = False; cfg.train.seed = a.seed
        if a.epochs: cfg.train.epochs = a.epochs
        with Stage('generate', stages):
            generate(work/'data', n_trs=a.n_trs, n_subjects=a.n_subjects, seed=a.seed)
        with Stage('prepare', stages), warnings.catch_warnings():
            warnings.simplefilter('ignore', UntrainedCodecWarning)
            data = prepare_dataset(work/'data', config=cfg.data, verbose=False)
        am = data.audio_meta
        with Stage('train', stages):
            t0 = time.perf_counter(); model, hist = train_model(data, cfg, work/'run_classification'); t_train = time.perf_counter() - t0
        with Stage('evaluate', stages):
            t0 = time.perf_counter(); metrics = evaluate_model(model, data, work/'report_classification', hist); t_eval = time.perf_counter() - t0
        main_fig = summarise(metrics, hist, t_train, t_eval, model, data)
        v, t = metrics.get('video', {}), metrics.get('text', {})
        main_fig['video'] = dict(psnr_db=r3(v.get('psnr')), ssim=r3(v.get('ssim')))
        main_fig['text'] = {k: r3(t.get(k)) for k in ('top1', 'top5', 'chance_top1', 'chance_top5')}
        # decoded-audio scores (evaluation.audio_reconstruction: vs_roundtrip, vs_original, roundtrip_vs_original, seconds, ...)
        main_fig['audio_decoded'] = {k: x for k, x in metrics['audio'].items() if k not in ('accuracy', 'mean_accuracy', 'chance_majority', 'chance_uniform')}
        main_fig['history'] = [{k: (round(x, 4) if isinstance(x, float) else x) for k, x in h.items()} for h in hist]
        variants['classification_encodec'] = {k: main_fig[k] for k in ('fmri', 'audio', 'test_losses', 'epochs_run', 'best_epoch',
                                                                       'train_s', 'epoch_s', 'parameters_total')}
        # regression head on the same prepared data
        cfg_reg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, audio_head='regression'))
        with Stage('train_regression', stages):
            t0 = time.perf_counter(); m_reg, h_reg = train_model(data, cfg_reg, work/'run_regression'); t_train = time.perf_counter() - t0
        t0 = time.perf_counter(); met_reg = evaluate_model(m_reg, data, work/'report_regression', h_reg); t_eval = time.perf_counter() - t0
        variants['regression_encodec'] = summarise(met_reg, h_reg, t_train, t_eval, m_reg, data)
        del m_reg
        # mel path: its own cache (different audio features), otherwise the same data settings
        cfg_mel = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, audio=dataclasses.replace(cfg.data.audio, use_encodec=False)))
        with Stage('prepare_mel', stages):
            data_mel = prepare_dataset(work/'data', cache_dir=work/'cache_mel', config=cfg_mel.data, verbose=False)
        with Stage('train_mel', stages):
            t0 = time.perf_counter(); m_mel, h_mel = train_model(data_mel, cfg_mel, work/'run_mel'); t_train = time.perf_counter() - t0
        t0 = time.perf_counter(); met_mel = evaluate_model(m_mel, data_mel, work/'report_mel', h_mel); t_eval = time.perf_counter() - t0
        variants['classification_mel'] = summarise(met_mel, h_mel, t_train, t_eval, m_mel, data_mel, mel=True)
        variants['classification_mel']['mel_shape_per_tr'] = list(data_mel.audio.shape[1:])
        same_splits = all(np.array_equal(data.splits[k], data_mel.splits[k]) for k in data.splits)
    finally:
        if a.keep: print(f'kept {work}')
        else: shutil.rmtree(work, ignore_errors=True)
    res = dict(
        description='giblet demo pipeline on a generated tiny-style dataset; held-out = the test block (never trained on or used for normalisation)',
        dataset=dict(n_trs=a.n_trs, n_subjects=a.n_subjects, seed=a.seed, n_voxels=int(data.fmri.n_voxels),
                     splits={k: len(v) for k, v in data.splits.items()}, target=cfg.target),
        codec=dict(kind=am.get('kind'), model_id=am.get('model_id'), meaningful=am.get('meaningful'),
                   note='untrained EnCodec (offline demo): codes are diverse but carry no acoustic meaning; audio figures do not reflect real audio'),
        config=dict(model=dataclasses.asdict(cfg.model), train=dataclasses.asdict(cfg.train),
                    video=f'{cfg.data.video.height}x{cfg.data.video.width}', split=dataclasses.asdict(cfg.data.split)),
        demo=main_fig,
        variants=variants,
        variants_note=('same prepared data for the two EnCodec heads; the mel path has its own cache from the same files with the same '
                       f'grid and splits (identical: {same_splits}); every variant uses the same TrainConfig (max {cfg.train.epochs} epochs, '
                       f'patience {cfg.train.patience}, seed {cfg.train.seed}); epochs_run can differ by early stopping'),
        stages=stages,
        peak_rss_gb_whole_run=max(s['peak_rss_gb'] for s in stages.values()),
        total_s=round(time.perf_counter() - t_all, 1),
        machine=dict(machine, load_avg_end=load_avg()))
    out = write_result(a.out, res)
    d = main_fig['fmri']
    print(f"\ndemo: planted r {d['mean_r_planted']} vs other {d['mean_r_other']}; ridge planted {d['ridge_r_planted']}; "
          f"ceiling {d['ceiling_planted']} (fraction {d['ceiling_fraction_planted']}); p {d['p_value']}")
    for k, vv in variants.items():
        print(f"{k:24s} planted r {vv['fmri']['mean_r_planted']} other {vv['fmri']['mean_r_other']} audio {vv.get('audio', {})} "
              f"epochs {vv['epochs_run']} train {vv['train_s']} s")
    print({k: (s['wall_s'], s['peak_rss_gb']) for k, s in stages.items()}, '->', out)

if __name__ == '__main__': main()
