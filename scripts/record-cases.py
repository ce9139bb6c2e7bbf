#!/usr/bin/env python3
"""Records the cases in tests/fixtures/recorded against the reference Alembic.

Each case folder holds `case.json`: the revisions of a small project and the
steps to run (`{"args": [...]}` for a command, `{"sql": "..."}` for a
statement run on the SQLite database to set up a state no command makes).
This script writes the project into the case's `project/` folder (with the
files of `_template/`), runs every command in a copy of it with the reference `alembic`, and writes
`expected.json`: for each command its exit status, its standard output and
the rows of `alembic_version` afterwards. `tests/recorded_cases.rs` replays
the same steps against aurora.

    python3 scripts/record-cases.py [--alembic /work/V/bin/alembic] [CASE...]
"""
import argparse
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "recorded"


def revision_text(rev):
    down = rev.get("down", [])
    down_value = "None" if not down else repr(down[0]) if len(down) == 1 else repr(tuple(down))
    body = lambda lines: "\n".join("    " + l for l in (lines or ["pass"]))
    return (
        f'"""{rev.get("message", "rev " + rev["id"])}\n\nRevision ID: {rev["id"]}\n'
        f'Revises: {", ".join(down)}\nCreate Date: 2024-01-01 00:00:00.000000\n\n"""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n\n"
        f"revision = {rev['id']!r}\ndown_revision = {down_value}\n"
        f"branch_labels = {rev.get('branch_labels')!r}\ndepends_on = {rev.get('depends_on')!r}\n\n\n"
        f"def upgrade():\n{body(rev.get('upgrade'))}\n\n\ndef downgrade():\n{body(rev.get('downgrade'))}\n"
    )


def build(case, dest):
    (dest / "alembic" / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(ROOT / "_template" / name, dest / "alembic" / name)
    (dest / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./test.db\n"
    )
    for rev in case["revisions"]:
        (dest / "alembic" / "versions" / f"{rev['id']}_rev.py").write_text(revision_text(rev))


def version_rows(db):
    if not db.exists():
        return None
    con = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in con.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def record(case_dir, alembic):
    case = json.loads((case_dir / "case.json").read_text())
    shutil.rmtree(case_dir / "project", ignore_errors=True)
    build(case, case_dir / "project")
    with tempfile.TemporaryDirectory() as tmp:
        project = pathlib.Path(tmp) / "project"
        shutil.copytree(case_dir / "project", project)
        db = project / "test.db"
        results = []
        for step in case["steps"]:
            if "sql" in step:
                con = sqlite3.connect(db)
                con.executescript(step["sql"])
                con.commit()
                con.close()
                results.append({"sql": step["sql"]})
                continue
            env = dict(os.environ)
            env.pop("DATABASE_URL", None)
            run = subprocess.run([alembic, *step["args"]], cwd=project, env=env,
                                 capture_output=True, text=True)
            results.append({
                "args": step["args"],
                "exit": run.returncode,
                "stdout": run.stdout.replace(str(project), "{{here}}"),
                "versions": version_rows(db),
            })
    (case_dir / "expected.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"recorded {case_dir.name}: {len(results)} steps")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alembic", default=os.environ.get("AURORA_REFERENCE_ALEMBIC", "/work/V/bin/alembic"))
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    names = args.cases or sorted(p.name for p in ROOT.iterdir() if (p / "case.json").exists())
    for name in names:
        record(ROOT / name, args.alembic)


if __name__ == "__main__":
    main()
