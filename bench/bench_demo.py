"""Time `giblet demo` end to end, as a user runs it: wall time, peak RSS of the process tree, and its headline metrics.

Usage: python bench/bench_demo.py   (writes bench/results/demo.json; the target is under 10 minutes on 2 CPU cores)
"""
import json, os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

out = Path(tempfile.mkdtemp())/'demo'
giblet = Path(sys.executable).parent/'giblet'
load_before = os.getloadavg()
t0 = time.time()
r = subprocess.run([str(giblet), 'demo', '--out', str(out)], capture_output=True, text=True)
wall = time.time() - t0
if r.returncode: sys.exit(r.stderr[-3000:])
peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
m = json.loads((out/'report'/'metrics.json').read_text())
f = m['fmri']
res = {'wall_s': round(wall, 1), 'peak_rss_gb': round(peak_gb, 2), 'cpu_cores': os.cpu_count(), 'load_before': load_before,
       'load_after': os.getloadavg(), 'target_s': 600, 'within_target': wall < 600,
       'stages_log': [l for l in r.stdout.splitlines() if l.startswith('[demo')],
       'mean_r_planted': f['mean_r_planted'], 'mean_r_other': f['mean_r_other'], 'p_value_mean_r': f['p_value_mean_r'],
       'subject_average': f['subject_average'], 'ceiling_mean_planted': f.get('ceiling_mean_planted'),
       'codec': m['audio']['codec'], 'codec_meaningful': m['audio']['codec_meaningful'],
       'note': 'the untrained codec calibrates its codebooks on first use on a machine (~1 min) and caches them in ~/.cache/giblet'}
shutil.rmtree(out.parent, ignore_errors=True)
print(json.dumps(res, indent=1))
Path(__file__).parent.joinpath('results').mkdir(exist_ok=True)
Path(__file__).parent.joinpath('results', 'demo.json').write_text(json.dumps(res, indent=1))
