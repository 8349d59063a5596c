"""Run giblet's checks and notebook tests; the last line is `N passed, N failed`.

Usage: python tools/test.py [--flags slow] [--light] [notebook ...]

Checks, as nbdev's own CI does: `nbdev_clean` and `nbdev_export` change nothing
(when run inside a git checkout), then every notebook in `nbs/` runs top to
bottom with `nbdev.test.test_nb` (cells flagged `#| slow` are skipped unless
`--flags slow` is given). Exits non-zero when anything failed.

One more counted check keeps the notebooks light to open and to diff (it reads the
notebooks in the working tree; with notebook arguments only those, without the total):
  - each notebook at most 300 KB; the outputs of all notebooks together at most 300 KB, and all
    of nbs/*.ipynb at most 1.5 MB (1 KB = 1000 bytes): outputs must stay light, source may grow;
  - every embedded audio player is a WAV of at most 3 s, at most 16 kHz, mono;
  - no temporary or machine paths in outputs (/tmp/, /root/, /home/, /work/, /Users/,
    /private/var/, /var/folders/, site-packages/): write to a relative folder under nbs/_tmp/;
  - no tqdm/ipywidgets state (widget outputs or notebook metadata, progress bars, `it/s`);
  - no timings that change per run: a logger stamp such as `[demo   55.0s]` or `(4.5s)`,
    a duration after a verb (`in 12.3 s`, `took 3 min`, `elapsed 2.0 s`, `wall 5 s`), a
    speed (`12 it/s`, `3.1 s/step`). Physical durations (`1377.0 s`, `TR 1.5 s`) are fine.
    Where the timing is the point, put the comment `# timings-shown` in the cell's source.
`python tools/test.py --light` runs only this check.
"""
import argparse, base64, io, json, os, re, subprocess, sys, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
os.chdir(root)

def git_changes():
    r = subprocess.run(['git', 'status', '--porcelain', '--', 'nbs', 'giblet'], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None

def readme_text() -> str:
    "README.md as generated from nbs/index.ipynb: its prose (code cells and their pictures/players stay in the notebook)."
    r = subprocess.run(['jupyter', 'nbconvert', '--to', 'markdown', '--stdout', '--log-level', 'ERROR',
                        '--TemplateExporter.exclude_output=True', '--TemplateExporter.exclude_input=True', 'nbs/index.ipynb'],
                       capture_output=True, text=True, check=True)
    return '<!-- generated from nbs/index.ipynb by `python tools/test.py --readme`; edit the notebook, not this file -->\n\n' + r.stdout

def check_in_sync():
    "nbdev_clean and nbdev_export must leave the checkout unchanged."
    if not (root/'.git').exists():
        print('SKIP  nbdev sync check (not a git checkout)'); return None
    before = git_changes()
    for cmd in (['nbdev_clean'], ['nbdev_export']):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode: print(r.stdout, r.stderr); return False
    if (root/'README.md').read_text() != readme_text():
        print('FAIL  README.md is out of date with nbs/index.ipynb: run `python tools/test.py --readme` and commit.'); return False
    after = git_changes()
    if before != after:
        print('FAIL  nbdev_clean/nbdev_export changed files: notebooks are not clean or giblet/ is out of date.\n'
              '      Run `nbdev_clean && nbdev_export` and commit the result.')
        subprocess.run(['git', '--no-pager', 'diff', '--stat', '--', 'nbs', 'giblet'])
        return False
    print('PASS  nbdev_clean and nbdev_export change nothing'); return True

# -- light, stable outputs ---------------------------------------------------------------
NB_LIMIT, TOTAL_LIMIT, OUTPUTS_LIMIT = 300_000, 1_500_000, 300_000   # bytes: one notebook, all of nbs/*.ipynb, all their outputs
AUDIO_MAX_S, AUDIO_MAX_RATE = 3.0, 16_000     # per embedded player; mono only
TIMINGS_OPT_OUT = '# timings-shown'           # in a cell's source: its printed timings are the point
_DATA_URI = re.compile(r'data:([\w.+-]+/[\w.+-]+);base64,([A-Za-z0-9+/=\s]+)')
_PATH = re.compile(r'(?<![\w.~-])(?:/tmp|/root|/home|/work|/Users|/private/var|/var/folders)(?=/|\b)|(?:site|dist)-packages/')
_NUM = r'\d+(?:\.\d+)?'
_TIMING = re.compile('|'.join([
    r'[(\[][^\])\n]{0,40}?\d+(?:\.\d+)?(?:ms|s|min)[\])]',                       # stamp: [demo   55.0s], (4.5s)
    r'\b(?:in|took|takes|elapsed|wall(?:[- ]?(?:time|clock))?|cpu(?:[- ]time)?|runtime)\b[:=]?\s*~?'
    + _NUM + r'\s?(?:ms|s|sec|secs|seconds|min|mins|minutes)\b',                    # in 12.3 s, took 3 min
    r'(?:\d+(?:\.\d+)?|\?)\s?(?:it|steps?|samples?|batch(?:es)?|frames?|TRs?)/s\b',              # 12 it/s
    _NUM + r'\s?(?:s|ms)/(?:it|step|epoch|sample|batch)\b']), re.I)                 # 3.1 s/step
_PROGRESS = re.compile(r'\d+%\|[^|\n]{0,80}\|')                                     # tqdm bar: 40%|####  |
_WIDGET_MIME = ('application/vnd.jupyter.widget-view+json', 'application/vnd.jupyter.widget-state+json')

def _kb(n): return f'{n/1000:.1f} KB'

def _output_texts(o):
    "The text a reader sees in one output (embedded base64 data removed), and the data URIs it embeds."
    texts, uris = [], []
    if 'text' in o: texts.append(''.join(o['text']))
    if 'traceback' in o: texts.append('\n'.join(o['traceback']))
    for mime, v in o.get('data', {}).items():
        if not (mime.startswith('text/') or mime.endswith(('json', 'javascript'))): continue
        t = v if isinstance(v, str) else (''.join(v) if isinstance(v, list) else json.dumps(v))
        uris += _DATA_URI.findall(t)
        texts.append(_DATA_URI.sub('data:...', t))
    return texts, uris

def _audio_problem(mime, b64):
    "Why an embedded audio clip breaks the limits, or None."
    import soundfile as sf
    if mime not in ('audio/wav', 'audio/x-wav', 'audio/wave'):
        return f'{mime} player (embed WAV, <= {AUDIO_MAX_S:g} s at <= {AUDIO_MAX_RATE // 1000} kHz mono, so it can be checked)'
    try: info = sf.info(io.BytesIO(base64.b64decode(b64)))
    except Exception as e: return f'audio player whose WAV cannot be read ({e})'
    dur = info.frames / info.samplerate
    if info.channels != 1 or info.samplerate > AUDIO_MAX_RATE or dur > AUDIO_MAX_S + 1e-9:
        return (f'audio player of {dur:.2f} s at {info.samplerate} Hz, {info.channels} channel(s) '
                f'(limit: {AUDIO_MAX_S:g} s at {AUDIO_MAX_RATE} Hz mono per clip)')
    return None

def _hits(kind, found, advice):
    "One message for all `found` matches of one kind in one cell: the first three, the count, the fix."
    found = list(dict.fromkeys(found))
    more = f' and {len(found) - 3} more' if len(found) > 3 else ''
    return f'{kind} in output: {", ".join(map(repr, found[:3]))}{more} ({advice})'

def output_problems(nb_path) -> list:
    "Every way the outputs of one notebook break the light-output rules, as 'cell N (id ...): problem' strings."
    nb, probs = json.loads(Path(nb_path).read_text()), []
    import nbformat
    try: nbformat.validate(nbformat.from_dict(nb), version=4)
    except nbformat.ValidationError as e:
        probs.append(f'not a valid nbformat 4 notebook ({e.message}); open and save it in JupyterLab, or drop the stray key with nbformat')
    if 'widgets' in nb.get('metadata', {}):
        probs.append('notebook metadata holds ipywidgets state ("widgets"): clear it and display no widgets')
    for i, c in enumerate(nb.get('cells', [])):
        where = f'cell {i} (id {c.get("id", "?")})'
        src = c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
        widgets, audio, paths, bars, timings = False, [], [], [], []
        for o in c.get('outputs', []):
            widgets |= any(m in o.get('data', {}) for m in _WIDGET_MIME)
            texts, uris = _output_texts(o)
            audio += [why for mime, b64 in uris if mime.startswith('audio/') and (why := _audio_problem(mime, b64))]
            for t in texts:
                paths += [t[m.start():].split()[0][:60] for m in _PATH.finditer(t)]
                bars += [m.group() for m in _PROGRESS.finditer(t)]
                if TIMINGS_OPT_OUT not in src: timings += [m.group() for m in _TIMING.finditer(t)]
        if widgets: probs.append(f'{where}: ipywidgets/tqdm widget output (print plain text, no progress bars)')
        probs += [f'{where}: {why}' for why in dict.fromkeys(audio)]
        if paths: probs.append(f'{where}: ' + _hits('machine/temporary path', paths, 'use a relative work folder under nbs/_tmp/'))
        if bars: probs.append(f'{where}: ' + _hits('progress bar', bars, 'no tqdm in committed outputs'))
        if timings: probs.append(f'{where}: ' + _hits('timing that changes per run', timings,
                                 f'drop it, or put `{TIMINGS_OPT_OUT}` in the cell if the figure is the point'))
    return probs

def check_light(nbs, total=True):
    "The light-output rules for `nbs` (paths), plus the total size of nbs/*.ipynb when `total`; prints one PASS/FAIL line."
    lines, sizes = [], {}
    for nb in nbs:
        sizes[nb] = size = Path(nb).stat().st_size
        if size > NB_LIMIT: lines.append(f'{nb.name}: {_kb(size)} > {_kb(NB_LIMIT)} per notebook (slim its outputs)')
        probs = output_problems(nb)
        lines += [f'{nb.name} {p}' for p in probs[:8]]
        if len(probs) > 8: lines.append(f'{nb.name}: ... and {len(probs) - 8} more output problems')
    msg = f'{len(nbs)} notebook(s)'
    if total:
        tot = sum(p.stat().st_size for p in (root/'nbs').glob('*.ipynb'))
        outs = sum(len(json.dumps(c.get('outputs', []))) for p in (root/'nbs').glob('*.ipynb') for c in json.loads(p.read_text())['cells'])
        msg += f', nbs/*.ipynb {_kb(tot)} in total, {_kb(outs)} of outputs'
        if outs > OUTPUTS_LIMIT: lines.append(f'nbs/*.ipynb: {_kb(outs)} of outputs > {_kb(OUTPUTS_LIMIT)} (slim the players and plots)')
        if tot > TOTAL_LIMIT:
            big = ', '.join(f'{p.name} {_kb(s)}' for p, s in sorted(sizes.items(), key=lambda x: -x[1])[:4])
            lines.append(f'nbs/*.ipynb: {_kb(tot)} > {_kb(TOTAL_LIMIT)} in total (largest: {big})')
    if not lines: print(f'PASS  light outputs ({msg})'); return True
    print(f'FAIL  light outputs ({msg}): {len(lines)} problem(s)')
    for l in lines: print('      ' + l)
    return False

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--flags', default='', help='space-separated test flags to run (e.g. "slow")')
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: all in nbs/)')
    p.add_argument('--readme', action='store_true', help='write README.md from nbs/index.ipynb and exit')
    p.add_argument('--light', action='store_true', help='run only the light-output check (sizes, players, paths, timings)')
    a = p.parse_args()
    if a.readme: (root/'README.md').write_text(readme_text()); print('wrote README.md'); return
    nbs = [Path(n) for n in a.notebooks] or sorted(p for p in (root/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    missing = [str(n) for n in nbs if not n.is_file()]
    if missing: sys.exit(f'no such notebook: {", ".join(missing)}')
    if a.light: sys.exit(0 if check_light(nbs, total=not a.notebooks) else 1)
    os.environ.setdefault('OMP_NUM_THREADS', '2'); os.environ.setdefault('MPLBACKEND', 'Agg')
    os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    from nbdev.test import test_nb
    from nbdev.config import get_config
    cfg = get_config()
    all_flags = set(cfg.get('tst_flags', '').split())
    force = set(a.flags.split())
    unknown = force - all_flags
    if unknown: sys.exit(f'unknown test flags {sorted(unknown)}; declared in settings.ini tst_flags: {sorted(all_flags)}')
    skip = all_flags - force
    passed = failed = 0
    if not a.notebooks:
        ok = check_in_sync()
        if ok is True: passed += 1
        elif ok is False: failed += 1
    if check_light(nbs, total=not a.notebooks): passed += 1
    else: failed += 1
    for nb in nbs:
        t0 = time.time()
        ok, _ = test_nb(nb, skip_flags=skip, force_flags=force, do_print=False, basepath=nb.parent)
        status = 'PASS' if ok else 'FAIL'
        print(f'{status}  {nb.name}  ({time.time()-t0:.1f}s)', flush=True)
        if ok: passed += 1
        else: failed += 1
    print(f'{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
