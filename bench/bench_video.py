"""Benchmark: decode a Sherlock-length movie (1380 s at 25 fps) into per-TR frames with `giblet.video.VideoProcessor`.

Writes a procedural H.264 clip of the given length and size (`write_coded_video`, colours encode the frame index),
then decodes it in a fresh child process (so its peak RSS is its own), checks that every kept frame is the one on
screen at its target time (no drift over the whole movie), and records wall time, decode rate, peak RSS and the
RSS growth next to the size of the output array and of the whole movie held as frames, in bench/results/video.json.

    OMP_NUM_THREADS=2 timeout 1800 python bench/bench_video.py [--duration 1380] [--size 640x360] [--fps 25]

Target (issue 4): streaming decode, bounded memory (RSS growth ~ the output array, independent of the movie length).
"""
from __future__ import annotations
import argparse, json, os, platform, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

def decode(path:str, n_trs:int, fps:float) -> dict:
    "The measured step, run in a child process."
    import psutil
    from giblet.alignment import TRGrid
    from giblet.video import VideoConfig, VideoProcessor, decode_colour_codes, frame_target_times
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    cfg = VideoConfig(aspect='stretch') # default size and frames_per_tr; 'stretch' keeps the colour-coded corner in the picture
    grid = TRGrid(n_trs=n_trs)
    t0 = time.time()
    frames, meta = VideoProcessor(cfg).video_to_features(path, grid)
    seconds = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 # Linux: KiB
    expected = np.floor(frame_target_times(grid, cfg.frames_per_tr) * fps + 1e-9).astype(np.int64)
    return dict(seconds=seconds, frames_decoded=int(meta['n_frames_decoded']), shape=list(frames.shape), output_bytes=int(frames.nbytes),
                rss_before_bytes=rss0, peak_rss_bytes=peak,
                frame_index_exact=bool((meta['frame_index'] == expected).all()),
                colour_code_exact=bool((decode_colour_codes(frames) == expected % 4096).all()),
                last_target_time=float(meta['target_times'][-1, -1]), last_frame_time=float(meta['frame_times'][-1, -1]))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--duration', type=float, default=1380.0); ap.add_argument('--fps', type=float, default=25.0)
    ap.add_argument('--size', default='640x360', help='WIDTHxHEIGHT of the generated movie')
    ap.add_argument('--workdir', default=None)
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'video.json'))
    ap.add_argument('--child', nargs=2, metavar=('MOVIE', 'N_TRS'), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print('RESULT ' + json.dumps(decode(a.child[0], int(a.child[1]), a.fps)), flush=True); return
    from giblet.video import write_coded_video
    from giblet.alignment import TRGrid
    width, height = map(int, a.size.lower().split('x'))
    work = Path(tempfile.mkdtemp(prefix='giblet_bench_video_', dir=a.workdir))
    try:
        t0 = time.time()
        movie = write_coded_video(work/'movie.m4v', duration=a.duration, fps=a.fps, size=(width, height), audio=False)
        gen_s = time.time() - t0
        n_trs = TRGrid.from_duration(a.duration).n_trs
        print(f'generated {a.duration:.0f} s at {a.fps} fps, {width}x{height}: {movie.stat().st_size / 1e6:.1f} MB in {gen_s:.1f} s', flush=True)
        cmd = [sys.executable, __file__, '--child', str(movie), str(n_trs), '--fps', str(a.fps)]
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '2')})
        wall = time.time() - t0
        print(r.stderr[-3000:], file=sys.stderr)
        if r.returncode: sys.exit(f'decoding failed with code {r.returncode}')
        child = json.loads([l for l in r.stdout.splitlines() if l.startswith('RESULT ')][-1][7:])
        n_source = int(round(a.duration * a.fps))
        res = dict(movie_seconds=a.duration, fps=a.fps, movie_size=[width, height], movie_bytes=movie.stat().st_size, n_trs=n_trs,
                   generation_seconds=round(gen_s, 1),
                   decode_seconds=round(child['seconds'], 1), decode_wall_seconds_incl_startup=round(wall, 1),
                   decoded_frames_per_second=round(child['frames_decoded'] / child['seconds'], 1),
                   output_shape=child['shape'], output_mb=round(child['output_bytes'] / 1e6, 1),
                   peak_rss_mb=round(child['peak_rss_bytes'] / 1e6, 1),
                   rss_growth_mb=round((child['peak_rss_bytes'] - child['rss_before_bytes']) / 1e6, 1),
                   all_source_frames_uint8_mb=round(n_source * width * height * 3 / 1e6, 1),
                   frame_index_exact=child['frame_index_exact'], colour_code_exact=child['colour_code_exact'],
                   last_target_time=child['last_target_time'], last_frame_time=child['last_frame_time'],
                   machine=dict(cpus=os.cpu_count(), python=platform.python_version(), omp_threads=os.environ.get('OMP_NUM_THREADS')))
        for k, v in res.items(): print(f'{k}: {v}')
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f'.{out.name}.tmp'); tmp.write_text(json.dumps(res, indent=2) + '\n'); os.replace(tmp, out)
        print(f'wrote {out}')
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__':
    main()
