#!/usr/bin/env python3
"""Records the cases in tests/fixtures/pg_online (or, with --autogen,
tests/fixtures/pg_autogen) against the reference Alembic and a live
PostgreSQL server.

Each case folder holds `project/` (an Alembic project whose `sqlalchemy.url`
is a `postgresql+psycopg2://` placeholder) and `commands.txt` (one command line
a line, e.g. `upgrade head`). This script runs the commands in order, in a
copy of the project pointed at a fresh database, with the reference `alembic`,
and writes `steps.json` in the conformance corpus' format: exit status,
standard output, the `FAILED:` line, and for `upgrade`/`downgrade`/`stamp`/
`current` run online the state of the server after the step (`pgdb`). It
uses the corpus checker's own `Workspace` and snapshot, so recording and
replaying (`tests/pg_online_recorded.rs` runs the checker on these folders)
share one implementation. With --autogen, the files a step creates
(`revision --autogenerate`'s) are recorded too, which
`tests/pg_autogen_roundtrip.rs` reads to know what to compare.

    CONFORMANCE_PG_URL=postgresql://... python3 scripts/record-pg-online.py \
        [--alembic /work/refvenv/bin/alembic] [CASE...]
"""
import argparse
import importlib.machinery
import importlib.util
import json
import pathlib
import shlex

ROOT = pathlib.Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "fixtures" / "pg_online"
AUTOGEN_CASES = ROOT / "tests" / "fixtures" / "pg_autogen"
CHECK = ROOT.parent / "shared" / "conformance" / "check"


def load_checker():
    loader = importlib.machinery.SourceFileLoader("check", str(CHECK))
    spec = importlib.util.spec_from_loader("check", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alembic", default="/work/refvenv/bin/alembic")
    ap.add_argument("--autogen", action="store_true", help="record tests/fixtures/pg_autogen")
    ap.add_argument("cases", nargs="*")
    opts = ap.parse_args()
    check = load_checker()
    server = check.pg_server_from_env()
    if server is None:
        raise SystemExit("set CONFORMANCE_PG_URL to a PostgreSQL superuser URL")
    cases = AUTOGEN_CASES if opts.autogen else CASES
    for case in sorted(p for p in cases.iterdir() if (p / "commands.txt").is_file()):
        if opts.cases and case.name not in opts.cases:
            continue
        steps = []
        with check.Workspace(case / "project", pg=server) as ws:
            for line in (case / "commands.txt").read_text().splitlines():
                if not line.strip():
                    continue
                args = shlex.split(line)
                online = "--sql" not in args and args[0] in ("upgrade", "downgrade", "stamp", "current")
                want_files = opts.autogen and args[0] == "revision"
                res = ws.run(
                    shlex.split(opts.alembic), args, want_pgdb=online, want_files=want_files
                )
                step = {"args": args, "exit": res["exit"], "stdout": res["stdout"]}
                if want_files:
                    step["files"] = res["files"]
                if args[0] == "current" and res["stdout"].count("\n") > 1:
                    step["sort_lines"] = True
                if res["failed"]:
                    step["failed"] = res["failed"]
                if online:
                    step["pgdb"] = res["pgdb"]
                steps.append(step)
        with open(case / "steps.json", "w", encoding="utf-8") as f:
            json.dump(steps, f, indent=1, sort_keys=True)
            f.write("\n")
        print("%s: %s" % (case.name, [s["exit"] for s in steps]))


if __name__ == "__main__":
    main()
