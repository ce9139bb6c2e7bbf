#!/usr/bin/env python3
"""Records what the reference Alembic prints offline for tests/fixtures/offline.

Each `<name>.py` there is one revision file (`revision = 'a1'`,
`down_revision = None`). For PostgreSQL and SQLite this script puts it in a
fresh project (the `generic` template's env.py, which configures offline runs
with `literal_binds=True`; with a `<name>.metadata` beside it, a Python
expression such as `MetaData(naming_convention={...})`, that is env.py's
`target_metadata`), runs `upgrade a1 --sql` and `downgrade a1:base
--sql` with the reference `alembic`, and writes `<name>.json`: per run the
dialect, arguments, exit status and standard output. `tests/cli_offline.rs`
replays the same runs with aurora.

    python3 scripts/record-offline-fixtures.py [--alembic /work/V/bin/alembic] [NAME...]
"""
import argparse
import json
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "offline"
ENV_PY = ROOT / "assets" / "init" / "generic" / "env.py"
LOGGING_INI = ROOT / "tests" / "fixtures" / "logging.ini"
URLS = {"postgresql": "postgresql://u:p@localhost/db", "sqlite": "sqlite:///./test.db"}
RUNS = [["upgrade", "a1", "--sql"], ["downgrade", "a1:base", "--sql"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alembic", default="/work/V/bin/alembic")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    files = sorted(FIXTURES.glob("*.py"))
    if args.names:
        files = [f for f in files if f.stem in args.names]
    for f in files:
        runs = []
        for dialect, url in URLS.items():
            with tempfile.TemporaryDirectory() as tmp:
                tmp = pathlib.Path(tmp)
                (tmp / "alembic" / "versions").mkdir(parents=True)
                env_py = ENV_PY.read_text()
                metadata = f.with_suffix(".metadata")
                if metadata.exists():
                    env_py = env_py.replace(
                        "target_metadata = None",
                        "from sqlalchemy import MetaData\ntarget_metadata = "
                        + metadata.read_text().strip(), 1)
                (tmp / "alembic" / "env.py").write_text(env_py)
                (tmp / "alembic.ini").write_text(
                    f"[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = {url}\n\n"
                    + LOGGING_INI.read_text())
                (tmp / "alembic" / "versions" / "a1_rev.py").write_text(f.read_text())
                for run in RUNS:
                    p = subprocess.run([args.alembic] + run, cwd=tmp, capture_output=True,
                                       text=True, stdin=subprocess.DEVNULL)
                    runs.append({"dialect": dialect, "args": run, "exit": p.returncode,
                                 "stdout": p.stdout})
        f.with_suffix(".json").write_text(json.dumps(runs, indent=1) + "\n")
        print(f"{f.stem}: " + ", ".join(f"{r['dialect']} {r['args'][0]} {r['exit']}" for r in runs))


if __name__ == "__main__":
    main()
