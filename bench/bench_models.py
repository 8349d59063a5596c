"""Benchmark: the multimodal autoencoder at the Sherlock-size default config on CPU.

For the default `ModelConfig` (window 8 TRs, 8 codebooks x 113 frame slots, 2 frames of 64x64 per TR, 384-d text,
~85,000 voxels, 17 subjects) and each audio head, times a training step (forward, `MultimodalLoss`, backward,
AdamW step) on a batch of `--batch-size` windows, and records parameter counts per component, the size of the
code-logit tensor (GB), and this process's peak RSS (GB). `--decode-trs` compares reconstructing only the window's last TR
(the default) with reconstructing more of it. Prints the figures and writes bench/results/models.json
(with the git commit it measured).

    OMP_NUM_THREADS=2 timeout 900 python bench/bench_models.py [--batch-size 16] [--n-voxels 85000] [--steps 3]
"""
from __future__ import annotations
import argparse, os, time
from _bench import GB, RESULTS, machine_info, peak_rss_gb, write_result

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch-size', type=int, default=16); ap.add_argument('--n-voxels', type=int, default=85000)
    ap.add_argument('--steps', type=int, default=3); ap.add_argument('--decode-trs', type=int, nargs='+', default=[1, 8])
    ap.add_argument('--out', default=str(RESULTS/'models.json'))
    a = ap.parse_args()
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 2)))
    from giblet.models import ModelConfig, MultimodalAutoencoder, parameter_table, example_batch
    from giblet.losses import MultimodalLoss

    runs = []
    for head in ('classification', 'regression'):
        for d in (a.decode_trs if head == 'classification' else [1]):
            cfg = ModelConfig(n_voxels=a.n_voxels, audio_head=head, decode_trs=d)
            torch.manual_seed(0)
            model, loss_fn = MultimodalAutoencoder(cfg), MultimodalLoss(cfg)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            batch = example_batch(cfg, a.batch_size)
            times = []
            for i in range(a.steps + 1):                       # first step is warm-up
                t0 = time.perf_counter()
                losses = loss_fn(model(batch), batch)
                opt.zero_grad(); losses['total'].backward(); opt.step()
                times.append(time.perf_counter() - t0)
            table = parameter_table(model, show=False)
            logits = a.batch_size * d * cfg.n_codebooks * cfg.frames_per_tr * cfg.codebook_size if head == 'classification' else 0
            r = dict(audio_head=head, decode_trs=d, step_s=sorted(times[1:])[len(times[1:]) // 2],
                     windows_per_s=a.batch_size / sorted(times[1:])[len(times[1:]) // 2],
                     parameters=table, logits_gb=round(logits * 4 / GB, 4), peak_rss_gb_so_far=peak_rss_gb(),
                     losses={k: v.item() for k, v in losses.items()})
            runs.append(r)
            print(f"{head:14s} decode_trs={d}: {r['step_s']:.2f} s/step ({r['windows_per_s']:.1f} windows/s), "
                  f"params excl. voxel head {table['total excluding voxel head']:,}, total {table['total']:,}, "
                  f"logits {r['logits_gb']:.3f} GB, peak RSS so far {r['peak_rss_gb_so_far']:.2f} GB")
            del model, opt, batch, losses
    res = dict(batch_size=a.batch_size, n_voxels=a.n_voxels, steps=a.steps, runs=runs, peak_rss_gb=peak_rss_gb(),
               machine=machine_info(torch_threads=torch.get_num_threads()))
    out = write_result(a.out, res)
    print(f'peak RSS {res["peak_rss_gb"]:.2f} GB (load average {res["machine"]["load_avg"][0]:.1f}); wrote {out}')

if __name__ == '__main__': main()
