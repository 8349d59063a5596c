"""Benchmark giblet's EnCodec encode (giblet.audio.encode_stream, used by AudioProcessor) against transformers' own
single call `EncodecModel.encode(x, bandwidth=6.0)` on the same generated clip, in the same process, on 2 CPU threads.

The untrained codec (`untrained_codec(seed=0)`: the facebook/encodec_24khz architecture, seeded weights, calibrated
codebooks) encodes one clip of `make_test_audio` (90 s by default). The two encoders alternate, 3 repeats each; the
medians are compared. Codes are compared frame by frame (a frame is equal when all 8 codebooks' codes are) and per
codebook. One more instrumented pass of each says where the time goes: transformers' encoder layer by layer (grouped),
and giblet's stages (convolution blocks, LSTM, last conv + RVQ; timed one after another, outside the encode).
Targets: giblet / transformers time <= 0.5, frames equal >= 0.995.

Usage: python bench/bench_encodec.py [--duration 90] [--repeats 3]
Writes bench/results/encodec.json (atomically, with the git commit) and prints it.
"""
import argparse, json
from _bench import RESULTS, load_avg, machine_info, run_stage, write_result

THREADS = 2

def calibrate():
    "Calibrate (and cache) the untrained codec outside the timings."
    from giblet.audio import untrained_codec
    untrained_codec(0)

def _profile_transformers(codec, x) -> dict:
    "Seconds per group of transformers' encoder layers and its quantizer, one instrumented pass."
    import time, torch
    groups = {}
    def add(key, t): groups[key] = round(groups.get(key, 0.0) + t, 3)
    with torch.inference_mode():
        h = x
        for layer in codec.encoder.layers:
            name = type(layer).__name__
            t0 = time.perf_counter(); out = layer(h); t = time.perf_counter() - t0
            if name == 'EncodecResnetBlock': key = f'resblock_{h.shape[1]}ch'
            elif name == 'EncodecConv1d':
                s = layer.conv.stride[0]
                key = f'downsample_conv_{h.shape[1]}ch_stride{s}' if s > 1 else ('first_conv' if h.shape[1] == 1 else 'last_conv')
            elif name == 'EncodecLSTM': key = 'lstm'
            else: key = 'elu'
            add(key, t); h = out
        t0 = time.perf_counter(); codec.quantizer.encode(h, 6.0); add('quantizer', time.perf_counter() - t0)
    return groups

def _profile_giblet(codec, wav) -> dict:
    "Seconds of giblet's stages, each timed over the whole clip."
    import math, time, torch
    from giblet.audio import _EncoderConvs, _conv_features, _rvq_codes
    x = torch.from_numpy(wav)
    n_frames = math.ceil(len(x) / codec.config.hop_length)
    res = {}
    with torch.inference_mode():
        t0 = time.perf_counter(); convs = _EncoderConvs(codec); res['fold_weight_norm'] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter(); feats = _conv_features(convs, x, 0, n_frames); res['conv_blocks'] = round(time.perf_counter() - t0, 3)
        layers = codec.encoder.layers
        t0 = time.perf_counter(); z = layers[-2](layers[-3](feats[None])); res['lstm'] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter(); lat = layers[-1](z)[0]; codes = _rvq_codes(codec, lat, 8); res['last_conv_and_rvq'] = round(time.perf_counter() - t0, 3)
    return res

def compare(duration:float, repeats:int) -> dict:
    "Alternate transformers' single call and giblet's encode_stream on one clip; medians, agreement, profiles."
    import platform, time, numpy as np, torch
    torch.set_num_threads(THREADS)
    from giblet.audio import untrained_codec, make_test_audio, encode_stream
    codec = untrained_codec(seed=0)
    wav = make_test_audio(duration, seed=1)
    x = torch.from_numpy(wav)[None, None]
    times = {'transformers': [], 'giblet': []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        with torch.inference_mode(): ref = codec.encode(x, bandwidth=6.0).audio_codes[0, 0].numpy()
        times['transformers'].append(round(time.perf_counter() - t0, 3))
        t0 = time.perf_counter(); ours = encode_stream(codec, wav, bandwidth=6.0)
        times['giblet'].append(round(time.perf_counter() - t0, 3))
    eq = ours == ref
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {'audio_s': duration, 'n_frames': int(ref.shape[1]), 'n_codebooks': int(ref.shape[0]),
            'transformers_s': round(med['transformers'], 3), 'giblet_s': round(med['giblet'], 3),
            'ratio': round(med['giblet'] / med['transformers'], 4),
            'real_time_factor': {'transformers': round(med['transformers'] / duration, 4), 'giblet': round(med['giblet'] / duration, 4)},
            'repeats_s': times, 'frames_equal': float(eq.all(0).mean()), 'codes_identical': bool(eq.all()),
            'frames_equal_per_codebook': [round(float(v), 5) for v in eq.mean(1)],
            'profile_transformers_s': _profile_transformers(codec, x), 'profile_giblet_s': _profile_giblet(codec, wav),
            'torch_threads': torch.get_num_threads(), 'cpu': platform.processor() or platform.machine()}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--duration', type=float, default=90.0, help='seconds of generated audio')
    p.add_argument('--repeats', type=int, default=3, help='timed runs of each encoder (alternating)')
    p.add_argument('--timeout', type=float, default=1800.0)
    p.add_argument('--out', default=str(RESULTS/'encodec.json'))
    a = p.parse_args()
    run_stage(calibrate, threads=THREADS)
    machine = machine_info(threads=THREADS)
    r = run_stage(compare, a.duration, a.repeats, timeout_s=a.timeout, threads=THREADS)
    machine['load_avg_end'] = load_avg()
    res = {'what': 'EnCodec 24 kHz encode (untrained codec, same architecture), 6 kbps, 2 CPU threads: giblet.audio.encode_stream '
                   "vs transformers' single EncodecModel.encode call on the same clip, alternating in one process, medians",
           **r['result'], 'peak_rss_gb': r['peak_rss_gb'],
           'targets': {'ratio': '<= 0.5', 'frames_equal': '>= 0.995'}, 'machine': machine}
    res['targets_met'] = {'ratio': res['ratio'] <= 0.5, 'frames_equal': res['frames_equal'] >= 0.995}
    write_result(a.out, res)
    print(json.dumps(res, indent=1))
    print(f"{a.duration:.0f} s clip: transformers {res['transformers_s']:.2f} s, giblet {res['giblet_s']:.2f} s, ratio {res['ratio']:.3f}; "
          f"frames equal {res['frames_equal']:.2%}")

if __name__ == '__main__': main()
