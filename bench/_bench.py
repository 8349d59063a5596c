"""What giblet's benchmarks share: memory, a stage run in a fresh process, the machine, and how results are written.

Units, one per kind of figure: time in seconds (keys end in `_s`), memory and disk in gigabytes of 1e9 bytes
(keys end in `_gb`); rates say what they count (`frames_per_s`, `windows_per_s`).

- `peak_rss_gb()`: this process's peak resident set (VmHWM), `rss_gb(key)` a current /proc/self/status figure,
  `reset_peak_rss()` restarts the peak (Linux clear_refs), `PeakSampler` samples a figure's peak in a thread.
- `run_stage(func, *args)`: runs `func` in a fresh Python process (so its peak RSS is its own, not the parent's) and
  returns `wall_s`, `cpu_s`, `peak_rss_gb` of the call, `wall_s_incl_startup`, its `result`, `stdout` and `stderr`;
  given an argument list instead of a function it runs that command (its peak from its rusage, taken by a small
  runner process so that the parent's own peak is not carried into the child's).
- `machine_info()`, `load_avg()`: cores, load, Python and library versions.
- `write_result(path, result)`: writes the JSON atomically (`giblet.core.write_json`) with `provenance`: the git
  commit, whether the tree was dirty, and the UTC date.

Used by the bench_*.py scripts beside it (`from _bench import ...`: run them as `python bench/bench_X.py`).
"""
from __future__ import annotations
import importlib, importlib.metadata, importlib.util, os, pickle, platform, resource, signal, subprocess, sys, tempfile, threading, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT/'bench'/'results'
GB = 1e9

def gb(nbytes:float, digits:int=4) -> float:
    "`nbytes` in GB (1e9 bytes), rounded."
    return round(nbytes / GB, digits)

def rss_gb(key:str='VmRSS') -> float:
    "A memory figure of this process from /proc/self/status in GB: VmRSS (current), VmHWM (peak), RssAnon, RssFile, ..."
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(key + ':'): return gb(int(line.split()[1]) * 1024)
    raise KeyError(f'{key} is not in /proc/self/status')

def peak_rss_gb() -> float:
    "This process's peak resident set size in GB (VmHWM; on systems without /proc, getrusage's ru_maxrss)."
    if Path('/proc/self/status').exists(): return rss_gb('VmHWM')
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return gb(r if sys.platform == 'darwin' else r * 1024)

def reset_peak_rss() -> bool:
    "Restart the peak (VmHWM) at the current RSS (Linux clear_refs '5'); returns whether the kernel allowed it."
    try: Path('/proc/self/clear_refs').write_text('5'); return True
    except OSError: return False

class PeakSampler:
    "Context manager sampling `key` (a /proc/self/status figure) every `every_s` seconds; `.start_gb`, `.peak_gb` after."
    def __init__(self, key:str='VmRSS', every_s:float=0.05): self.key, self.every_s = key, every_s
    def __enter__(self):
        self.start_gb = self.peak_gb = rss_gb(self.key)
        self._done = threading.Event()
        def sample():
            while not self._done.wait(self.every_s): self.peak_gb = max(self.peak_gb, rss_gb(self.key))
        self._thread = threading.Thread(target=sample, daemon=True); self._thread.start()
        return self
    def __exit__(self, *exc):
        self._done.set(); self._thread.join(); self.peak_gb = max(self.peak_gb, rss_gb(self.key))
        return False

def load_avg() -> list:
    "The 1, 5 and 15 minute load averages (other processes sharing the cores)."
    return [round(x, 2) for x in os.getloadavg()]

def _version(pkg:str):
    try: return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError: return None

def machine_info(**extra) -> dict:
    "Cores, load, thread settings, Python and library versions (read without importing torch), plus `extra`."
    return dict(cpus=os.cpu_count(), load_avg=load_avg(), omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                platform=platform.platform(), python=platform.python_version(),
                torch=_version('torch'), transformers=_version('transformers'), numpy=_version('numpy'), **extra)

def disk_gb(path) -> float:
    "Size of a file, or of all files under a folder, in GB."
    p = Path(path)
    return gb(p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob('*') if f.is_file()))

class StageFailed(RuntimeError):
    "A stage's child process failed or ran out of time; `.timed_out`, `.returncode`, `.stdout`, `.stderr` say how."
    def __init__(self, msg, timed_out=False, returncode=None, stdout='', stderr=''):
        super().__init__(msg); self.timed_out, self.returncode, self.stdout, self.stderr = timed_out, returncode, stdout, stderr

def _target_spec(func) -> dict:
    mod = sys.modules[func.__module__]
    if func.__module__ == '__main__': return dict(file=str(Path(mod.__file__).resolve()), name=func.__qualname__)
    return dict(module=func.__module__, name=func.__qualname__)

def run_stage(target, # a module-level function (run in a fresh Python process), or a command (list of arguments)
              *args, # arguments of the function (picklable)
              timeout_s:float|None=None, # kill the child after this many seconds (StageFailed with .timed_out)
              threads:int|None=2, # OMP_NUM_THREADS and MKL_NUM_THREADS of the child (None: inherit)
              env:dict|None=None, # extra environment variables
              **kwargs, # keyword arguments of the function
             ) -> dict:
    "Run one measured stage in a fresh child: dict(wall_s, cpu_s, peak_rss_gb, wall_s_incl_startup, result, stdout, stderr)."
    full_env = {**os.environ, **(env or {})}
    if threads is not None: full_env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    name = getattr(target, '__name__', None) or ' '.join(map(str, target[:2]))
    with tempfile.TemporaryDirectory(prefix='giblet_bench_stage_') as tmp:
        tmp = Path(tmp)
        if callable(target):
            (tmp/'spec.pkl').write_bytes(pickle.dumps(dict(target=_target_spec(target), args=args, kwargs=kwargs)))
            cmd = [sys.executable, str(Path(__file__).resolve()), '--stage', str(tmp/'spec.pkl'), str(tmp/'result.pkl')]
        else:   # through a small Python runner: a child's rusage peak would include the (large) parent's at fork
            cmd = [sys.executable, str(Path(__file__).resolve()), '--command', str(tmp/'result.pkl'), '--', *map(str, target)]
        with open(tmp/'stdout', 'w+') as out, open(tmp/'stderr', 'w+') as err:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=out, stderr=err, env=full_env, start_new_session=True)
            killed = threading.Event()
            def kill():   # the child's whole process group: the runner and what it started
                killed.set()
                try: os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError: pass
            timer = threading.Timer(timeout_s, kill) if timeout_s else None
            if timer: timer.start()
            try: _, status, usage = os.wait4(p.pid, 0)
            except BaseException: kill(); p.wait(); raise   # Ctrl-C: its own session does not get the signal
            finally:
                if timer: timer.cancel()
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0); err.seek(0); stdout, stderr = out.read(), err.read()
        timed_out = killed.is_set()
        if timed_out or p.returncode:
            why = f'timed out after {timeout_s:g} s' if timed_out else f'failed (exit {p.returncode})'
            raise StageFailed(f'stage {name} {why}:\n{stderr[-3000:]}', timed_out, p.returncode, stdout, stderr)
        res = pickle.loads((tmp/'result.pkl').read_bytes())
    return dict(res, wall_s=round(res['wall_s'], 2), cpu_s=round(res['cpu_s'], 2), wall_s_incl_startup=round(wall, 2),
                stdout=stdout, stderr=stderr)

def _child(spec_file:str, result_file:str):
    "Inside the child: import the target, call it, and pickle its result with its wall time, CPU time and peak RSS."
    spec = pickle.loads(Path(spec_file).read_bytes()); t = spec['target']
    if 'file' in t:
        ms = importlib.util.spec_from_file_location('_bench_stage_module', t['file'])
        mod = importlib.util.module_from_spec(ms); sys.modules[ms.name] = mod; ms.loader.exec_module(mod)
    else: mod = importlib.import_module(t['module'])
    func = mod
    for part in t['name'].split('.'): func = getattr(func, part)
    c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = func(*spec['args'], **spec['kwargs'])
    wall, c1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
    Path(result_file).write_bytes(pickle.dumps(dict(result=result, wall_s=wall, cpu_s=cpu, peak_rss_gb=peak_rss_gb())))

def _child_command(result_file:str, cmd:list):
    "Inside the small runner: run `cmd`, and pickle its wall time, CPU time and peak RSS (its rusage: it and its waited-for children)."
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode: sys.exit(p.returncode if p.returncode > 0 else 128 - p.returncode)
    maxrss = usage.ru_maxrss * (1 if sys.platform == 'darwin' else 1024)
    Path(result_file).write_bytes(pickle.dumps(dict(result=None, wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, peak_rss_gb=gb(maxrss))))

def provenance() -> dict:
    "What a result was measured on: the git commit, whether the working tree had changes (tracked or untracked), the UTC date."
    def git(*a):
        r = subprocess.run(['git', *a], capture_output=True, text=True, cwd=ROOT)
        return r.stdout.strip() if r.returncode == 0 else None
    commit, status = git('rev-parse', 'HEAD'), git('status', '--porcelain')
    return dict(git_commit=commit, git_dirty=None if status is None else bool(status),
                date_utc=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))

def write_result(path, # the JSON file (usually RESULTS/'NAME.json')
                 result:dict, # the figures
                 key:str|None=None, # store `result` under this key of the file, keeping its other keys (each with its own provenance)
                ) -> Path:
    "Write `result` with its `provenance` to `path` atomically (giblet.core.write_json)."
    import json
    from giblet.core import write_json
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    entry = {**result, 'provenance': provenance()}
    if key is None: return write_json(path, entry)
    whole = json.loads(path.read_text()) if path.exists() else {}
    return write_json(path, {**whole, key: entry})

if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--stage':
        try: _child(sys.argv[2], sys.argv[3])
        except BaseException: traceback.print_exc(); sys.exit(1)
    elif len(sys.argv) > 4 and sys.argv[1] == '--command' and sys.argv[3] == '--': _child_command(sys.argv[2], sys.argv[4:])
    else: sys.exit(__doc__)
