"""Records the expected output of the template fixtures with Mako itself.

Each case under tests/fixtures/template/{ok,err}/<case>/ holds a
`script.py.mako` and an optional `context.json`; this renders the template
with Mako exactly as Alembic's `ScriptDirectory.generate_revision` does
(`Template(filename=...).render_unicode(**kw)`, with `comma=format_as_comma`
and `create_date` a `datetime.datetime`) and writes `expected`:

- ok cases: the rendered text;
- err cases: Mako's compile error (`str()` of the exception, in file
  'script.py.mako'), or for an error while rendering `line N: Type: message`
  with N the template line Mako's traceback points at.

Run with the reference install: /work/V/bin/python scripts/record-template-fixtures.py
"""

import datetime
import json
import os
import sys
import tempfile

from alembic.config import Config
from alembic.util import format_as_comma
from mako import exceptions
from mako.template import Template

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "template")


def context(case):
    path = os.path.join(case, "context.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    kw = {
        "up_revision": "ae1027a6acf",
        "down_revision": None,
        "branch_labels": None,
        "depends_on": None,
        "message": "empty message",
        "create_date": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901),
        "comma": format_as_comma,
    }
    for key, value in data.items():
        if key == "create_date":
            value = datetime.datetime.fromisoformat(value)
        elif key == "config":
            ini = tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False)
            ini.write("[alembic]\n")
            for k, v in value.items():
                ini.write("%s = %s\n" % (k, v))
            ini.close()
            value = Config(ini.name)
        elif isinstance(value, list):
            # Alembic passes tuples, except for a list of dependencies.
            value = value if key == "depends_on" else tuple(value)
        kw[key] = value
    return kw


def record(kind, name):
    case = os.path.join(ROOT, kind, name)
    cwd = os.getcwd()
    os.chdir(case)
    try:
        try:
            template = Template(filename="script.py.mako")
            out = template.render_unicode(**context(case))
        except (exceptions.CompileException, exceptions.SyntaxException) as e:
            out = str(e)
        except Exception as e:
            tb = exceptions.RichTraceback()
            line = [r for r in tb.records if r[4] is not None][-1][5] if any(
                r[4] is not None for r in tb.records
            ) else tb.lineno
            out = "line %s: %s: %s" % (line, type(e).__name__, e)
    finally:
        os.chdir(cwd)
    with open(os.path.join(case, "expected"), "w", newline="") as f:
        f.write(out)


for kind in ("ok", "err"):
    for name in sorted(os.listdir(os.path.join(ROOT, kind))):
        record(kind, name)
        print(kind, name, file=sys.stderr)
