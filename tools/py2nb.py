"""Author a notebook from a percent-format script: `python tools/py2nb.py src.py nbs/NN_name.ipynb [--execute]`.

Cells start at lines `# %%` (code) or `# %% [markdown]` (markdown; each line's leading `# ` is removed).
With --execute the notebook is run in place (outputs kept: plots, audio players) and then cleaned
with nbdev_clean, so what is committed is what a reader sees.
"""
import hashlib, sys, subprocess, nbformat
from pathlib import Path

def py2nb(src:str):
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        text = '\n'.join(buf).strip('\n')
        if kind == 'md':
            text = '\n'.join(l[2:] if l.startswith('# ') else l.lstrip('#') for l in text.split('\n'))
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif text.strip(): cells.append(nbformat.v4.new_code_cell(text))
    for line in Path(src).read_text().split('\n'):
        if line.startswith('# %%'):
            flush(); kind, buf = ('md' if '[markdown]' in line else 'code'), []
        else: buf.append(line)
    flush()
    for i, c in enumerate(cells):  # stable ids: regenerating an unchanged notebook changes nothing
        c['id'] = hashlib.sha1(f'{i}:{c["source"]}'.encode()).hexdigest()[:8]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    return nb

if __name__ == '__main__':
    src, dst = sys.argv[1], sys.argv[2]
    nbformat.write(py2nb(src), dst)
    if '--execute' in sys.argv:
        subprocess.run(['jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--inplace',
                        '--ExecutePreprocessor.timeout=1800', dst], check=True)
    subprocess.run(['nbdev_clean', '--fname', dst], check=True)
