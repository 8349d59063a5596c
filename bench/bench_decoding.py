"""Decoding from measured fMRI on the demo data (issue 13): the demo model, then `giblet.pipeline.score_decoding` with the
default DecodingConfig for the whole brain, one planted driver group's voxels alone (region) and the brain without them
(lesion); identification top-1/top-5 per modality against chance for the brain decoder, the ridge decoder and the
autoencoder from the stimulus; time and peak RSS of the decoding (a fresh child process).

    python bench/bench_decoding.py [--seed 0] [--out bench/results/decoding.json]
"""
from __future__ import annotations
import argparse, json, shutil, sys, tempfile, warnings
from pathlib import Path
from _bench import RESULTS, machine_info, run_stage, write_result

def decode_stage(work:str, seed:int) -> dict:
    "Child: generate, prepare and train the demo (untimed here), then decode; returns the figures and the decoding's own time."
    import time, torch
    from giblet.audio import UntrainedCodecWarning
    from giblet.data import prepare_dataset
    from giblet.pipeline import demo_config, train_model, score_decoding, planted_groups
    from giblet.synthetic import generate
    work = Path(work); cfg = demo_config()
    cfg.train.seed, cfg.train.progress = seed, False
    generate(work/'data', n_trs=300, n_subjects=3, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UntrainedCodecWarning)
        data = prepare_dataset(work/'data', config=cfg.data, verbose=False)
    model, _ = train_model(data, cfg, work/'run')
    groups = planted_groups(data); name, region = max(groups.items(), key=lambda kv: kv[1].sum())
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UntrainedCodecWarning)
        s = score_decoding(model, data, cfg.decoding, region=region, lesion=region)
    seconds = time.perf_counter() - t0
    pick = lambda ident: {k: {m: round(v[m], 4) for m in ('top1', 'top5', 'chance_top1', 'p_value')} for k, v in ident.items()}
    views = {v: dict(n_voxels=m['n_voxels'], brain_decoder=pick(m['identification']), ridge_decoder=pick(m['ridge_identification']),
                     brain_decoder_epoch=m['brain_decoder'], audio_mean_code_accuracy=round(m['audio']['mean_accuracy'], 4),
                     video_ssim=round(m['video']['ssim'], 4), video_ssim_train_mean_frame=round(m['video']['train_mean_frame']['ssim'], 4),
                     text_retrieval_top1=round(m['text']['top1'], 4), text_chance_top1=round(m['text']['chance_top1'], 4))
             for v, m in s.metrics['views'].items()}
    return dict(decoding_s=round(seconds, 1), region=f'planted group {name!r}', n_test_trs=s.metrics['n_test_trs'], views=views,
                from_stimulus=pick(s.metrics['from_stimulus']['identification']))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(RESULTS/'decoding.json'))
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_decoding_'))
    try: r = run_stage(decode_stage, str(work), a.seed, timeout_s=3600, threads=2)
    finally: shutil.rmtree(work, ignore_errors=True)
    res = dict(what=__doc__.splitlines()[0], data='demo mini-Sherlock: 300 TRs x 3 subjects, subject-average fMRI, untrained codec (audio codes carry no meaning)',
               seed=a.seed, stage_wall_s=round(r['wall_s'], 1), stage_peak_rss_gb=round(r['peak_rss_gb'], 3), **r['result'], machine=machine_info())
    write_result(a.out, res)
    print(json.dumps(res, indent=1))

if __name__ == '__main__': main()
