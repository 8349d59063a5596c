"""Run giblet's checks and notebook tests; the last line is `N passed, N failed`.

Usage: python tools/test.py [--flags slow] [notebook ...]

Checks, as nbdev's own CI does: `nbdev_clean` and `nbdev_export` change nothing
(when run inside a git checkout), then every notebook in `nbs/` runs top to
bottom with `nbdev.test.test_nb` (cells flagged `#| slow` are skipped unless
`--flags slow` is given). Exits non-zero when anything failed.
"""
import argparse, os, subprocess, sys, time
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

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--flags', default='', help='space-separated test flags to run (e.g. "slow")')
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: all in nbs/)')
    p.add_argument('--readme', action='store_true', help='write README.md from nbs/index.ipynb and exit')
    a = p.parse_args()
    if a.readme: (root/'README.md').write_text(readme_text()); print('wrote README.md'); return
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
    nbs = [Path(n) for n in a.notebooks] or sorted(p for p in (root/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    passed = failed = 0
    if not a.notebooks:
        ok = check_in_sync()
        if ok is True: passed += 1
        elif ok is False: failed += 1
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
