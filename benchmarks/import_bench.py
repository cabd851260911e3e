"""Importing large foreign logs: evaltui against the tools' own readers, in one run.

    python benchmarks/import_bench.py [--small | --huge] [--json] [--inspect-python PATH]
                                      [--only inspect|lm-eval]

Generates (into bench-data/import/, kept for the next run) an inspect_ai `.eval` log and an
lm-evaluation-harness results file with its samples file, then measures, each in its own child
process (start-up and imports count; peak memory is the child's VmHWM):

  inspect   `evaltui import inspect LOG --store NEW` against inspect_ai's own
            `read_eval_log(LOG)` (samples included), run by --inspect-python: a throwaway venv
            with inspect_ai (default /work/tools-venvs/inspect); without one, "not installed"
  lm-eval   `evaltui import lm-eval FOLDER --store NEW` against reading the samples file with
            `json.loads` line by line into a list (the rows a script would then work on)

and, beside each, the importer's part alone ("importer only": the log read, its records laid
out with case lists spooled to JSONL and suite digests computed; no validation, no store).

Sizes: default 10,000 samples and 50,000 lines; --small 2,500 and 5,000 (above the 2,000 cases a
record keeps inline, so the streaming path runs; CI calls this from bench.py --small); --huge
100,000 samples and 1,000,000 lines (the issue's sizes: about 0.6 GB and 2.2 GB of JSON).

The `.eval` is written by `write_inspect_log`: a zip (zip64, as Python's zipfile writes it) of
`_journal/start.json`, `samples/<id>_epoch_1.json`, `summaries.json`, `reductions.json` and
`header.json`, each compressed with zstd (zip method 93) as inspect_ai 0.3.x writes them, or with
deflate (`--deflate`). Samples copy the shape of a real log (tests/real_logs/inspect_generated/
plain: messages, events, scores, usage), with their own id, input, target and score. Ratios are
of processes run back to back; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "bench-data" / "import"
REAL_INSPECT = (
    ROOT
    / "tests/real_logs/inspect_generated/plain"
    / "2026-12-06T03-29-24-00-00_router-qa_fiLk6s3gEVF5ZgtxAxKxTd.eval"
)
REAL_LM_EVAL = ROOT / "tests/real_logs/lm_eval/LGAI-EXAONE__EXAONE-3.0-7.8B-Instruct"
LM_STAMP = "2024-12-23T14-45-44.695233"
INSPECT_PYTHON = Path("/work/tools-venvs/inspect/bin/python")
SIZES = {"small": (2_500, 5_000), "default": (10_000, 50_000), "huge": (100_000, 1_000_000)}
TARGETS = {"time_ratio": 2.0, "memory_ratio": 2.0, "peak_rss_mb": 600.0}
ZIP_ZSTANDARD = 93

# The child reports its own peak RSS (VmHWM, kB) on exit, into the file named by the variable.
_MEASURED = """
import atexit, os
def _report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_RSS"], "w") as out:
        out.write(peak)
atexit.register(_report)
"""
# The program as a user runs it (`run`: the console script's entry point, which keeps pandas out)
_EVALTUI = "import sys\nfrom evaltui.cli.main import run\nsys.argv[0] = 'evaltui'\nrun()\n"
# The importer's part alone: the log read and its records laid out (case lists spooled to JSONL,
# suite digests computed), without the contract validation and the store load that follow.
_IMPORTER = (
    "import sys\nfrom pathlib import Path\n"
    "from evaltui.importers.pipeline import native_records, read_source\n"
    "imported = read_source(sys.argv[1], Path(sys.argv[2]))\nnative_records(imported)\n"
    "imported.close()\n"
)
_READ_EVAL_LOG = (
    "import sys\nfrom inspect_ai.log import read_eval_log\n"
    "log = read_eval_log(sys.argv[1])\nprint(len(log.samples))\n"
)
# A reader that uses the rows keeps them: the list is what a script over the samples works on.
_JSON_LINES = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as lines:\n"
    "    rows = [json.loads(line) for line in lines]\nprint(len(rows))\n"
)


# -- generating the logs --------------------------------------------------------------------------


def _zstd_zip_support() -> None:
    """Let zipfile write method 93 entries with the zstandard package (inspect_ai's format)."""
    import zstandard

    if getattr(zipfile, "_evaltui_zstd", False):
        return
    original_check = zipfile._check_compression  # type: ignore[attr-defined]
    original_get = zipfile._get_compressor  # type: ignore[attr-defined]

    def check(compression: int) -> None:
        if compression != ZIP_ZSTANDARD:
            original_check(compression)

    def get(compress_type: int, compresslevel: int | None = None) -> Any:
        if compress_type == ZIP_ZSTANDARD:
            return zstandard.ZstdCompressor(level=3).compressobj()
        return original_get(compress_type, compresslevel)

    zipfile._check_compression = check  # type: ignore[attr-defined]
    zipfile._get_compressor = get  # type: ignore[attr-defined]
    zipfile.compressor_names[ZIP_ZSTANDARD] = "zstd"  # type: ignore[attr-defined]
    zipfile._evaltui_zstd = True  # type: ignore[attr-defined]


def _real_inspect_parts() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from evaltui.importers.zipread import ZipArchive

    with ZipArchive(REAL_INSPECT) as archive:
        names = archive.names()
        sample = next(n for n in names if n.startswith("samples/"))
        return {
            name: json.loads(archive.read(name))
            for name in ("_journal/start.json", "header.json", "summaries.json", "reductions.json")
        } | {"sample": json.loads(archive.read(sample))}


def write_inspect_log(path: Path, samples: int, *, zstd: bool = True, seed: int = 7) -> Path:
    """An inspect_ai `.eval` log of `samples` samples shaped like a real one (see the docstring)."""
    parts = _real_inspect_parts()
    rng = random.Random(seed)
    method = ZIP_ZSTANDARD if zstd else zipfile.ZIP_DEFLATED
    if zstd:
        _zstd_zip_support()
    template = parts["sample"]
    summary_template = parts["summaries.json"][0]
    scorer = next(iter(template["scores"]))
    changed = {"id", "uuid", "input", "target", "scores"}
    fixed = {key: json.dumps(value) for key, value in template.items() if key not in changed}
    start = copy.deepcopy(parts["_journal/start.json"])
    start["eval"]["dataset"]["samples"] = samples
    start["eval"]["dataset"]["sample_ids"] = None
    header = copy.deepcopy(parts["header.json"])
    header["eval"] = start["eval"]
    header["results"]["total_samples"] = header["results"]["completed_samples"] = samples
    summaries = []
    reduced = []
    correct = 0
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=method, allowZip64=True) as out:
        out.writestr("_journal/start.json", json.dumps(start))
        for index in range(samples):
            sample_id = f"q{index:06d}"
            verdict = "C" if rng.random() < 0.7 else "I"
            correct += verdict == "C"
            sample = dict(template)  # the large unchanged parts are encoded once (`fixed`)
            sample["id"] = sample_id
            sample["uuid"] = f"{seed:04d}{index:012d}"
            sample["input"] = f"Question {index}: which route serves request {rng.random():.6f}?"
            sample["target"] = rng.choice(["billing", "refund", "account", "track_order"])
            score = {**template["scores"][scorer], "value": verdict}
            score["answer"] = sample["target"] if verdict == "C" else "other"
            sample["scores"] = {**template["scores"], scorer: score}
            text = ",".join(
                f"{json.dumps(key)}:{fixed[key] if key in fixed else json.dumps(value)}"
                for key, value in sample.items()
            )
            out.writestr(f"samples/{sample_id}_epoch_1.json", "{" + text + "}")
            summary = dict(summary_template)
            summary.update(id=sample_id, uuid=sample["uuid"], input=sample["input"])
            summary["target"] = sample["target"]
            summary["scores"] = {scorer: score}
            summaries.append(summary)
            reduced.append({"sample_id": sample_id, "value": 1.0 if verdict == "C" else 0.0})
        for score in header["results"]["scores"]:
            for metric in score["metrics"].values():
                if metric["name"] == "accuracy":
                    metric["value"] = correct / samples
        reductions = copy.deepcopy(parts["reductions.json"])
        for reduction in reductions:
            reduction["samples"] = reduced
        out.writestr("summaries.json", json.dumps(summaries))
        out.writestr("reductions.json", json.dumps(reductions))
        out.writestr("header.json", json.dumps(header))
    tmp.replace(path)
    return path


def write_lm_eval_log(folder: Path, lines: int, *, seed: int = 11) -> Path:
    """An lm-eval results file and a samples file of `lines` rows (about 2.2 KB each) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    results = json.loads((REAL_LM_EVAL / f"results_{LM_STAMP}.json").read_text())
    first = (REAL_LM_EVAL / f"samples_winogrande_{LM_STAMP}.jsonl").read_text().splitlines()[0]
    template = json.loads(first)
    results["n-samples"]["winogrande"] = {"original": lines, "effective": lines}
    rng = random.Random(seed)
    shots = " ".join(f"Example {n}: {template['doc']['sentence']}" for n in range(8))
    samples = folder / f"samples_winogrande_{LM_STAMP}.jsonl"
    tmp = samples.with_name(samples.name + ".tmp")
    correct = 0
    with tmp.open("w", encoding="utf-8") as out:
        batch = []
        for index in range(lines):
            row = dict(template)
            row["doc_id"] = index
            sentence = f"{template['doc']['sentence']} ({index}, {rng.random():.6f})"
            row["doc"] = {**template["doc"], "sentence": sentence}
            row["doc_hash"] = f"{index:064x}"
            request = {**template["arguments"]["gen_args_0"], "arg_0": f"{shots}\nQ: {sentence}"}
            row["arguments"] = {"gen_args_0": request}
            value = 1.0 if rng.random() < 0.6 else 0.0
            correct += value == 1.0
            row["exact_match"] = value
            batch.append(json.dumps(row))
            if len(batch) == 10_000:
                out.write("\n".join(batch) + "\n")
                batch = []
        if batch:
            out.write("\n".join(batch) + "\n")
    tmp.replace(samples)
    results["results"]["winogrande"]["exact_match,get-answer"] = correct / lines
    (folder / f"results_{LM_STAMP}.json").write_text(json.dumps(results, indent=2))
    return samples


# -- measuring ------------------------------------------------------------------------------------


def measure(python: Path | str, program: str, *args: str | Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one child process; raises if it fails."""
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        report = Path(tmp) / "rss"
        env = {**os.environ, "BENCH_RSS": str(report), "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), "-c", _MEASURED + program, *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{program.splitlines()[-1]} failed: {done.stderr[-2000:]}")
        return seconds, int(report.read_text()) / 1024, done.stdout


def _evaltui_import(tool: str, source: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="import-bench-store-") as tmp:
        seconds, peak, _out = measure(
            sys.executable, _EVALTUI, "import", tool, source, "--store", Path(tmp) / "s.duckdb"
        )
    return seconds, peak


def _importer_stage(tool: str, source: Path) -> dict[str, float]:
    seconds, peak, _out = measure(sys.executable, _IMPORTER, tool, source)
    return {"importer_seconds": round(seconds, 2), "importer_peak_rss_mb": round(peak)}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _side(name: str, ours: tuple[float, float], theirs: tuple[float, float] | None) -> dict:
    row: dict[str, Any] = {
        "name": name,
        "evaltui_seconds": round(ours[0], 2),
        "evaltui_peak_rss_mb": round(ours[1]),
    }
    if theirs is None:
        row["reference"] = "not installed"
        return row
    row |= {
        "reference_seconds": round(theirs[0], 2),
        "reference_peak_rss_mb": round(theirs[1]),
        "time_ratio": round(theirs[0] / ours[0], 2),  # > 1: evaltui faster
        "memory_ratio": round(theirs[1] / ours[1], 2),  # > 1: evaltui smaller
    }
    return row


def bench(
    size: str, *, zstd: bool, inspect_python: Path, only: str | None = None
) -> dict[str, Any]:
    samples, lines = SIZES[size]
    DATA.mkdir(parents=True, exist_ok=True)
    kind = "zstd" if zstd else "deflate"
    log = DATA / f"inspect-{samples}-{kind}.eval"
    if only != "lm-eval" and not log.exists():
        write_inspect_log(log, samples, zstd=zstd)
    lm_folder = DATA / f"lm-eval-{lines}"
    lm_samples = lm_folder / f"samples_winogrande_{LM_STAMP}.jsonl"
    if not lm_samples.exists():
        write_lm_eval_log(lm_folder, lines)
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "size": size,
        "inspect_samples": samples,
        "inspect_log_mb": round(log.stat().st_size / 1e6, 1) if log.exists() else 0.0,
        "lm_eval_lines": lines,
        "lm_eval_samples_mb": round(lm_samples.stat().st_size / 1e6, 1),
        "rows": [],
    }
    load_before = _load()
    if only != "lm-eval":
        _bench_inspect(figures, log, kind, inspect_python)
    if only != "inspect":
        _bench_lm_eval(figures, lm_folder, lm_samples)
    figures["load_average"] = f"{load_before} before, {_load()} after"
    return figures


def _bench_inspect(figures: dict[str, Any], log: Path, kind: str, inspect_python: Path) -> None:
    ours = _evaltui_import("inspect", log)
    theirs = None
    if inspect_python.exists():
        check = subprocess.run(
            [str(inspect_python), "-c", "import inspect_ai"], capture_output=True, check=False
        )
        if check.returncode == 0:
            seconds, peak, _out = measure(inspect_python, _READ_EVAL_LOG, log)
            theirs = (seconds, peak)
    row = _side(f"inspect .eval ({kind}), read_eval_log", ours, theirs)
    figures["rows"].append(row | _importer_stage("inspect", log))


def _bench_lm_eval(figures: dict[str, Any], lm_folder: Path, lm_samples: Path) -> None:
    ours = _evaltui_import("lm-eval", lm_folder)
    seconds, peak, _out = measure(sys.executable, _JSON_LINES, lm_samples)
    row = _side("lm-eval samples, json line by line", ours, (seconds, peak))
    figures["rows"].append(row | _importer_stage("lm-eval", lm_folder))


def show(figures: dict[str, Any]) -> str:
    lines = [
        f"machine {figures['machine']}; load average {figures['load_average']}",
        f"inspect log: {figures['inspect_samples']:,} samples, {figures['inspect_log_mb']} MB; "
        f"lm-eval samples: {figures['lm_eval_lines']:,} lines, {figures['lm_eval_samples_mb']} MB",
        f"{'':42} {'evaltui s':>10} {'MB':>6} {'reader s':>10} {'MB':>6} {'x faster':>9} "
        f"{'x smaller':>9}",
    ]
    lines.append(
        "(evaltui s / MB: the whole `evaltui import` into a new store; "
        "importer only: reading the log and spooling its records)"
    )
    for row in figures["rows"]:
        if "reference" in row:
            theirs = f"{row['reference']:>36}"
        else:
            theirs = (
                f"{row['reference_seconds']:>10} {row['reference_peak_rss_mb']:>6} "
                f"{row['time_ratio']:>9} {row['memory_ratio']:>9}"
            )
        lines.append(
            f"{row['name']:42} {row['evaltui_seconds']:>10} {row['evaltui_peak_rss_mb']:>6} "
            + theirs
        )
        lines.append(
            f"{'  importer only':42} {row['importer_seconds']:>10} {row['importer_peak_rss_mb']:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--small", action="store_true", help="2,500 samples, 5,000 lines")
    group.add_argument("--huge", action="store_true", help="100,000 samples, 1,000,000 lines")
    parser.add_argument("--deflate", action="store_true", help="deflate entries, not zstd")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--inspect-python", type=Path, default=INSPECT_PYTHON)
    parser.add_argument(
        "--only", choices=("inspect", "lm-eval"), help="measure one of the two logs only"
    )
    args = parser.parse_args(argv)
    size = "small" if args.small else "huge" if args.huge else "default"
    figures = bench(size, zstd=not args.deflate, inspect_python=args.inspect_python, only=args.only)
    print(json.dumps(figures, indent=2) if args.json else show(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
