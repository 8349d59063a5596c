"""Benchmark giblet.audio: chunked EnCodec encoding of a whole 23-minute stimulus vs one single-pass encode of 120 s.

Both use the untrained codec (same architecture and cost as facebook/encodec_24khz) on 2 CPU threads, at 6 kbps.
Each encode runs in its own fresh process (`_bench.run_stage`), so its peak RSS is its own. Figures: real-time factor
(encode seconds per second of audio), peak RSS of the process, and the peak RSS growth during the encode (sampled every
5 ms). Targets: chunked no slower per second of audio than single pass; at most a tenth of its memory per minute of audio.

Usage: python bench/bench_audio.py [--duration 1380] [--single 120] [--chunk-s 60]
Writes bench/results/audio.json (atomically, with the git commit) and prints it.
"""
import argparse, json
from _bench import RESULTS, PeakSampler, load_avg, machine_info, peak_rss_gb, run_stage, write_result

THREADS = 2

def calibrate():
    "Calibrate (and cache) the untrained codec outside the timings."
    from giblet.audio import untrained_codec
    untrained_codec(0)

def encode(mode:str, duration:float, chunk_s:float) -> dict:
    "Encode `duration` s of generated audio, `mode` 'chunked' (giblet) or 'single' (one transformers call)."
    import time, numpy as np, torch
    torch.set_num_threads(THREADS)
    from giblet.audio import untrained_codec, make_test_audio, encode_stream
    codec = untrained_codec(seed=0)
    audio = make_test_audio(duration, seed=1)
    with PeakSampler('VmRSS', every_s=0.005) as rss:
        t0 = time.perf_counter()
        if mode == 'chunked':
            codes = encode_stream(codec, audio, bandwidth=6.0, chunk_s=chunk_s)
        else:
            with torch.inference_mode():
                codes = codec.encode(torch.from_numpy(audio)[None, None], bandwidth=6.0).audio_codes[0, 0].numpy()
        elapsed = time.perf_counter() - t0
    return {'mode': mode, 'audio_s': duration, 'encode_s': round(elapsed, 2), 'real_time_factor': round(elapsed / duration, 4),
            'rss_before_encode_gb': rss.start_gb, 'encode_peak_growth_gb': round(max(rss.peak_gb, peak_rss_gb()) - rss.start_gb, 4),
            'codes_shape': list(codes.shape), 'n_unique_codebook0': int(len(np.unique(codes[0])))}

def run(mode, duration, a) -> dict:
    r = run_stage(encode, mode, duration, a.chunk_s, timeout_s=a.timeout, threads=THREADS)
    return dict(r['result'], peak_rss_gb=r['peak_rss_gb'])

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--duration', type=float, default=1380.0, help='seconds of audio for the chunked encode (23 min)')
    p.add_argument('--single', type=float, default=120.0, help='seconds of audio for the single-pass encode')
    p.add_argument('--chunk-s', type=float, default=60.0)
    p.add_argument('--timeout', type=float, default=1800.0, help='seconds allowed per encode')
    p.add_argument('--out', default=str(RESULTS/'audio.json'))
    a = p.parse_args()
    run_stage(calibrate, threads=THREADS)
    machine = machine_info(threads=THREADS)
    single = run('single', a.single, a)
    chunked = run('chunked', a.duration, a)
    machine['load_avg_end'] = load_avg()
    per_min = lambda r, key: r[key] / (r['audio_s'] / 60)
    res = {
        'what': 'EnCodec 24 kHz (untrained codec, same architecture), 6 kbps, encode only, 2 CPU threads',
        'chunked': dict(chunked, chunk_s=a.chunk_s),
        'single_pass': single,
        'ratios': {
            'rtf_chunked_over_single': round(chunked['real_time_factor'] / single['real_time_factor'], 3),
            'peak_rss_per_min_chunked_over_single': round(per_min(chunked, 'peak_rss_gb') / per_min(single, 'peak_rss_gb'), 4),
            'encode_growth_per_min_chunked_over_single': round(per_min(chunked, 'encode_peak_growth_gb') / per_min(single, 'encode_peak_growth_gb'), 4),
        },
        'targets': {'rtf_chunked_over_single': '<= 1', 'peak_rss_per_min_chunked_over_single': '<= 0.1'},
        'machine': machine,
    }
    r = res['ratios']
    res['targets_met'] = {'speed': r['rtf_chunked_over_single'] <= 1.0, 'memory': r['peak_rss_per_min_chunked_over_single'] <= 0.1}
    write_result(a.out, res)
    print(json.dumps(res, indent=1))
    print(f"chunked {chunked['audio_s']:.0f} s: RTF {chunked['real_time_factor']:.4f}, peak RSS {chunked['peak_rss_gb']:.3f} GB | "
          f"single {single['audio_s']:.0f} s: RTF {single['real_time_factor']:.4f}, peak RSS {single['peak_rss_gb']:.3f} GB | "
          f"RTF ratio {r['rtf_chunked_over_single']}, RSS/min ratio {r['peak_rss_per_min_chunked_over_single']}")

if __name__ == '__main__': main()
