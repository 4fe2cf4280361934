"""Dataset drift, Steward against Evidently, side by side on the same data in the same run.

Workload: ``shared/peerbench/datagen.py`` (20 numeric + 5 categorical columns; drift in
num_0..num_7 and cat_0..cat_1), 10k / 100k / 1M rows per side. Each tool runs in its own
subprocess per size (fresh interpreter, so peak RSS is its own): Steward's full
``DatasetDrift().fit(reference).score(current)`` from this repository, and Evidently 0.7.23's
``Report([DataDriftPreset()])`` from its own virtualenv. Reported: wall time of the drift
computation, peak RSS of the process (``ru_maxrss``, data included) and the growth of the
peak over the data alone, the ratios, and whether the per-column verdicts agree where both use
the same test (above 1,000 rows both use normed Wasserstein and Jensen-Shannon).

Usage::

    python benchmarks/drift.py [--sizes 10000,100000,1000000] [--evidently-python PATH]

The Evidently interpreter defaults to ``$EVIDENTLY_PYTHON`` or /work/peers/evidently/bin/python;
create it with ``python3 -m venv /work/peers/evidently &&
/work/peers/evidently/bin/pip install "evidently==0.7.23" "pandas<3"``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DATAGEN = ROOT.parent / "shared" / "peerbench"
DEFAULT_EVIDENTLY = os.environ.get("EVIDENTLY_PYTHON", "/work/peers/evidently/bin/python")
SAME_TEST = {"Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _data(n: int, datagen_dir: str) -> tuple[Any, Any, Any]:
    sys.path.insert(0, datagen_dir)
    import datagen  # type: ignore[import-not-found]

    reference, current = datagen.make_pair(n)
    return datagen, reference, current


def child_steward(n: int, datagen_dir: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    from steward.monitoring.dataset_drift import DatasetDrift

    datagen, reference, current = _data(n, datagen_dir)
    before = _peak_mb()
    start = time.perf_counter()
    detector = DatasetDrift(numerical_columns=datagen.NUM_COLS, categorical_columns=datagen.CAT_COLS)
    report = detector.fit(reference).score(current)
    seconds = time.perf_counter() - start
    columns = {c.column: {"method": c.method, "value": c.statistic, "drifted": c.drifted} for c in report.columns}
    return {"seconds": seconds, "peak_mb": _peak_mb(), "data_mb": before, "drifted": report.drifted, "columns": columns}


def child_evidently(n: int, datagen_dir: str) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report  # type: ignore[import-not-found]
    from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]

    datagen, reference, current = _data(n, datagen_dir)
    before = _peak_mb()
    start = time.perf_counter()
    definition = DataDefinition(numerical_columns=datagen.NUM_COLS, categorical_columns=datagen.CAT_COLS)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()
    seconds = time.perf_counter() - start
    columns, drifted = {}, False
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            method, value, threshold = config["method"], float(metric["value"]), float(config["threshold"])
            is_p = "p_value" in method
            verdict = (
                (value <= threshold if method.startswith("K-S") else value < threshold) if is_p else value >= threshold
            )
            columns[config["column"]] = {"method": SAME_TEST.get(method, method), "value": value, "drifted": verdict}
        elif config["type"].endswith("DriftedColumnsCount"):
            drifted = float(metric["value"]["share"]) >= float(config["drift_share"])
    return {"seconds": seconds, "peak_mb": _peak_mb(), "data_mb": before, "drifted": drifted, "columns": columns}


def _run(python: str, tool: str, n: int, datagen_dir: str) -> dict[str, Any] | None:
    cmd = [python, str(pathlib.Path(__file__).resolve()), "--child", tool, "--n", str(n), "--datagen", datagen_dir]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "EVIDENTLY_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"  {tool} failed at n={n}:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _agreement(ours: dict[str, Any], peer: dict[str, Any]) -> tuple[int, int, list[str]]:
    same, agree, differ = 0, 0, []
    for column, mine in ours["columns"].items():
        theirs = peer["columns"].get(column)
        if theirs is None or theirs["method"] != mine["method"]:
            continue
        same += 1
        if theirs["drifted"] == mine["drifted"]:
            agree += 1
        else:
            differ.append(column)
    return same, agree, differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--evidently-python", default=DEFAULT_EVIDENTLY)
    parser.add_argument("--datagen", default=str(DEFAULT_DATAGEN))
    parser.add_argument("--child", choices=["steward", "evidently"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = child_steward if args.child == "steward" else child_evidently
        print(json.dumps(run(args.n, args.datagen)))
        return

    peer = args.evidently_python if pathlib.Path(args.evidently_python).exists() else None
    if peer is None:
        print(
            f"NOTE: no Evidently interpreter at {args.evidently_python}: only Steward runs. Create it with\n"
            "  python3 -m venv /work/peers/evidently &&\n"
            '  /work/peers/evidently/bin/pip install "evidently==0.7.23" "pandas<3"'
        )
    print(f"drift, 20 numeric + 5 categorical columns, rows per side; {os.cpu_count()} cores")
    header = f"{'rows':>9} | {'steward s':>9} {'peak MB':>8} {'+MB':>6} | {'evidently s':>11} {'peak MB':>8} {'+MB':>6}"
    print(header + " | speed-up  mem ratio | verdicts (same test)  dataset")
    for n in [int(s) for s in args.sizes.split(",")]:
        ours = _run(sys.executable, "steward", n, args.datagen)
        theirs = _run(peer, "evidently", n, args.datagen) if peer else None
        if ours is None:
            continue
        line = f"{n:>9,} | {ours['seconds']:>9.3f} {ours['peak_mb']:>8.0f} {ours['peak_mb'] - ours['data_mb']:>6.0f} | "
        if theirs is None:
            print(line + f"{'-':>11} {'-':>8} {'-':>6} | steward dataset drift: {ours['drifted']}")
            continue
        same, agree, differ = _agreement(ours, theirs)
        line += f"{theirs['seconds']:>11.2f} {theirs['peak_mb']:>8.0f} {theirs['peak_mb'] - theirs['data_mb']:>6.0f} | "
        line += f"{theirs['seconds'] / ours['seconds']:>7.1f}x {ours['peak_mb'] / theirs['peak_mb']:>9.2f} | "
        line += f"{agree}/{same} agree{(' (differ: ' + ', '.join(differ) + ')') if differ else ''}  "
        line += f"steward={ours['drifted']} evidently={theirs['drifted']}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
