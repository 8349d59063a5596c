"""Benchmark giblet.audio: chunked EnCodec encoding of a whole 23-minute stimulus vs one single-pass encode of 120 s.

Both use the untrained codec (same architecture and cost as facebook/encodec_24khz) on 2 CPU threads, at 6 kbps.
Each encode runs in its own subprocess, so its peak RSS is its own. Figures: real-time factor (encode seconds per
second of audio), peak RSS of the process, and the peak RSS growth during the encode (sampled every 5 ms).
Targets: chunked no slower per second of audio than single pass; at most a tenth of its memory per minute of audio.

Usage: python bench/bench_audio.py [--duration 1380] [--single 120] [--chunk-s 60] [--context-s 3]
Writes bench/results/audio.json (atomically) and prints it.
"""
import argparse, json, os, platform, resource, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2

def _rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20

def worker(mode:str, duration:float, chunk_s:float, context_s:float):
    "Encode `duration` s of generated audio, `mode` 'chunked' (giblet) or 'single' (one transformers call); print JSON."
    import numpy as np, torch
    torch.set_num_threads(THREADS)
    from giblet.audio import untrained_codec, make_test_audio, encode_stream
    codec = untrained_codec(seed=0)
    audio = make_test_audio(duration, seed=1)
    start_rss, peak = _rss_mb(), [0.0]
    stop = threading.Event()
    def poll():
        while not stop.is_set(): peak[0] = max(peak[0], _rss_mb()); time.sleep(0.005)
    th = threading.Thread(target=poll, daemon=True); th.start()
    t0 = time.perf_counter()
    if mode == 'chunked':
        codes = encode_stream(codec, audio, bandwidth=6.0, chunk_s=chunk_s, context_s=context_s)
    else:
        with torch.inference_mode():
            codes = codec.encode(torch.from_numpy(audio)[None, None], bandwidth=6.0).audio_codes[0, 0].numpy()
    elapsed = time.perf_counter() - t0
    stop.set(); th.join()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(json.dumps({'mode': mode, 'audio_s': duration, 'encode_s': round(elapsed, 2),
                      'real_time_factor': round(elapsed / duration, 4), 'peak_rss_mb': round(peak_rss, 1),
                      'rss_before_encode_mb': round(start_rss, 1),
                      'encode_peak_growth_mb': round(max(peak[0], peak_rss) - start_rss, 1),
                      'codes_shape': list(codes.shape), 'n_unique_codebook0': int(len(np.unique(codes[0])))}))

def run_worker(mode, duration, a) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    cmd = [sys.executable, __file__, '--worker', mode, '--duration', str(duration),
           '--chunk-s', str(a.chunk_s), '--context-s', str(a.context_s)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=a.timeout)
    if r.returncode: sys.exit(f'{mode} worker failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--duration', type=float, default=1380.0, help='seconds of audio for the chunked encode (23 min)')
    p.add_argument('--single', type=float, default=120.0, help='seconds of audio for the single-pass encode')
    p.add_argument('--chunk-s', type=float, default=60.0)
    p.add_argument('--context-s', type=float, default=3.0)
    p.add_argument('--timeout', type=float, default=1800.0, help='seconds allowed per worker')
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'audio.json'))
    p.add_argument('--worker', choices=['chunked', 'single'], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker: return worker(a.worker, a.duration, a.chunk_s, a.context_s)
    subprocess.run([sys.executable, '-c', 'from giblet.audio import untrained_codec; untrained_codec(0)'], check=True,
                   env=dict(os.environ, OMP_NUM_THREADS=str(THREADS)))  # calibrate/cache the codec outside the timings
    load_start = os.getloadavg()
    single = run_worker('single', a.single, a)
    chunked = run_worker('chunked', a.duration, a)
    load_end = os.getloadavg()
    per_min = lambda r, key: r[key] / (r['audio_s'] / 60)
    import torch, transformers
    res = {
        'what': 'EnCodec 24 kHz (untrained codec, same architecture), 6 kbps, encode only, 2 CPU threads',
        'chunked': dict(chunked, chunk_s=a.chunk_s, context_s=a.context_s),
        'single_pass': single,
        'ratios': {
            'rtf_chunked_over_single': round(chunked['real_time_factor'] / single['real_time_factor'], 3),
            'peak_rss_per_min_chunked_over_single': round(per_min(chunked, 'peak_rss_mb') / per_min(single, 'peak_rss_mb'), 4),
            'encode_growth_per_min_chunked_over_single': round(per_min(chunked, 'encode_peak_growth_mb') / per_min(single, 'encode_peak_growth_mb'), 4),
        },
        'targets': {'rtf_chunked_over_single': '<= 1', 'peak_rss_per_min_chunked_over_single': '<= 0.1'},
        'machine': {'cpus': os.cpu_count(), 'threads': THREADS, 'loadavg_start': [round(v, 2) for v in load_start],
                    'loadavg_end': [round(v, 2) for v in load_end], 'python': platform.python_version(),
                    'torch': torch.__version__, 'transformers': transformers.__version__,
                    'date_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())},
    }
    r = res['ratios']
    res['targets_met'] = {'speed': r['rtf_chunked_over_single'] <= 1.0, 'memory': r['peak_rss_per_min_chunked_over_single'] <= 0.1}
    text = json.dumps(res, indent=1)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f'.{out.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f: f.write(text + '\n')
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True); raise
    print(text)
    print(f"chunked {chunked['audio_s']:.0f} s: RTF {chunked['real_time_factor']:.4f}, peak RSS {chunked['peak_rss_mb']:.0f} MB | "
          f"single {single['audio_s']:.0f} s: RTF {single['real_time_factor']:.4f}, peak RSS {single['peak_rss_mb']:.0f} MB | "
          f"RTF ratio {r['rtf_chunked_over_single']}, RSS/min ratio {r['peak_rss_per_min_chunked_over_single']}")

if __name__ == '__main__': main()
