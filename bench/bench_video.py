"""Benchmark: decode a Sherlock-length movie (1380 s at 25 fps) into per-TR frames with `giblet.video.VideoProcessor`.

Writes a procedural H.264 clip of the given length and size (`write_coded_video`, colours encode the frame index),
then decodes it in a fresh child process (`_bench.run_stage`: its peak RSS is its own), checks that every kept frame
is the one on screen at its target time (no drift over the whole movie), and records wall time (s), decode rate, peak
RSS and the RSS growth (GB) next to the size of the output array and of the whole movie held as frames, in
bench/results/video.json with the git commit it measured.

    OMP_NUM_THREADS=2 timeout 1800 python bench/bench_video.py [--duration 1380] [--size 640x360] [--fps 25]

Target (issue 4): streaming decode, bounded memory (RSS growth ~ the output array, independent of the movie length).
"""
from __future__ import annotations
import argparse, os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np
from _bench import RESULTS, gb, machine_info, peak_rss_gb, rss_gb, run_stage, write_result

def decode(path:str, n_trs:int, fps:float) -> dict:
    "The measured step, run in a child process."
    from giblet.alignment import TRGrid
    from giblet.video import VideoConfig, VideoProcessor, decode_colour_codes, frame_target_times
    rss0 = rss_gb()
    cfg = VideoConfig(aspect='stretch') # default size and frames_per_tr; 'stretch' keeps the colour-coded corner in the picture
    grid = TRGrid(n_trs=n_trs)
    t0 = time.perf_counter()
    frames, meta = VideoProcessor(cfg).video_to_features(path, grid)
    seconds = time.perf_counter() - t0
    peak = peak_rss_gb()
    expected = np.floor(frame_target_times(grid, cfg.frames_per_tr) * fps + 1e-9).astype(np.int64)
    return dict(decode_s=seconds, frames_decoded=int(meta['n_frames_decoded']), shape=list(frames.shape), output_gb=gb(frames.nbytes),
                rss_before_gb=rss0, peak_rss_gb=peak,
                frame_index_exact=bool((meta['frame_index'] == expected).all()),
                colour_code_exact=bool((decode_colour_codes(frames) == expected % 4096).all()),
                last_target_time=float(meta['target_times'][-1, -1]), last_frame_time=float(meta['frame_times'][-1, -1]))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--duration', type=float, default=1380.0); ap.add_argument('--fps', type=float, default=25.0)
    ap.add_argument('--size', default='640x360', help='WIDTHxHEIGHT of the generated movie')
    ap.add_argument('--workdir', default=None)
    ap.add_argument('--out', default=str(RESULTS/'video.json'))
    a = ap.parse_args()
    from giblet.video import write_coded_video
    from giblet.alignment import TRGrid
    width, height = map(int, a.size.lower().split('x'))
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_video_', dir=a.workdir))
    try:
        machine = machine_info()
        t0 = time.perf_counter()
        movie = write_coded_video(work/'movie.m4v', duration=a.duration, fps=a.fps, size=(width, height), audio=False)
        gen_s = time.perf_counter() - t0
        n_trs = TRGrid.from_duration(a.duration).n_trs
        print(f'generated {a.duration:.0f} s at {a.fps} fps, {width}x{height}: {gb(movie.stat().st_size, 3)} GB in {gen_s:.1f} s', flush=True)
        r = run_stage(decode, str(movie), n_trs, a.fps, threads=int(os.environ.get('OMP_NUM_THREADS', 2)))
        print(r['stderr'][-3000:], file=sys.stderr)
        child = r['result']
        n_source = int(round(a.duration * a.fps))
        res = dict(movie_s=a.duration, fps=a.fps, movie_size=[width, height], movie_gb=gb(movie.stat().st_size), n_trs=n_trs,
                   generation_s=round(gen_s, 1),
                   decode_s=round(child['decode_s'], 1), decode_wall_s_incl_startup=round(r['wall_s_incl_startup'], 1),
                   decoded_frames_per_s=round(child['frames_decoded'] / child['decode_s'], 1),
                   output_shape=child['shape'], output_gb=child['output_gb'],
                   peak_rss_gb=round(child['peak_rss_gb'], 4),
                   rss_growth_gb=round(child['peak_rss_gb'] - child['rss_before_gb'], 4),
                   all_source_frames_uint8_gb=gb(n_source * width * height * 3),
                   frame_index_exact=child['frame_index_exact'], colour_code_exact=child['colour_code_exact'],
                   last_target_time=child['last_target_time'], last_frame_time=child['last_frame_time'], machine=machine)
        for k, v in res.items(): print(f'{k}: {v}')
        print(f'wrote {write_result(a.out, res)}')
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__':
    main()
