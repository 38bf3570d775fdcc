"""A clinic's or a study's recordings re-analysed at once: one row per contraction and per
repetition, on all cores (``--jobs``) or on a Dask cluster (``--scheduler``).

Each file goes through ``analyze_file``, the same path as ``bbfeedback analyze FILE`` (the
protocol a recording ran, as it ran, unless another is given), in a process of its own; a
file that cannot be analysed becomes an ``error`` row and a line on stderr, not the end of
the run. Rows come out in the order of the files, whatever order the workers finish in, so
a parallel run writes the same table as a serial one.
"""

from __future__ import annotations

import csv
import glob
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from bbfeedback.errors import InputError

SUFFIXES = (".edf", ".bdf", ".csv")
COLUMNS = ("file", "patient", "recorded_at", "kind", "protocol", "channel", "unit", "baseline",
           "mvc", "rep", "section", "cue_s", "onset_s", "offset_s", "duration_s",
           "target_hold_s", "hold_s", "met", "peak", "mean", "peak_pct_mvc", "mean_pct_mvc",
           "rise_s", "release_s", "rest_residual_pct", "floors_pct_mvc", "flags", "error")
TEXT_COLUMNS = ("file", "patient", "recorded_at", "kind", "protocol", "channel", "unit",
                "section", "floors_pct_mvc", "flags", "error")
OUTPUTS = (".parquet", ".csv")
SCHEDULER_TIMEOUT_S = 10


@dataclass(frozen=True)
class Settings:
    """What ``analyze`` is told for every file (picklable: it travels to the workers)."""

    mains: str = "auto"
    window_s: float | None = None
    min_contraction_s: float = 0.3
    min_gap_s: float = 0.2
    protocol: str | None = None


def expand(inputs: Iterable[str], exclude: str | None = None) -> list[str]:
    """Recording paths from files, folders (searched below) and glob patterns, in order,
    each once; one line when nothing is found. ``exclude`` (the output table) is never
    picked up from a folder or a glob (a file named as such stays: writing over it is
    refused). Folders and ``**`` follow symbolic links, but each real folder once: a link
    back up the tree (``DIR/a -> .``, ``DIR/b -> .``) made ``glob``'s ``**`` walk for ever,
    memory growing."""
    skip = os.path.abspath(exclude) if exclude else None
    found: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            matches = [f for f in _walk(item) if Path(f).suffix.lower() in SUFFIXES
                       and os.path.isfile(f)]
        elif any(ch in item for ch in "*?[") and not p.exists():
            matches = [f for f in _glob(item) if Path(f).suffix.lower() in SUFFIXES]
        else:
            found.append(os.path.abspath(item))  # a missing or odd file: an error row
            continue
        found += sorted(f for f in map(os.path.abspath, matches) if f != skip)
    unique = list(dict.fromkeys(found))  # absolute: as workers elsewhere see them
    if not unique:
        raise InputError(f"no recordings (.edf, .bdf, .csv) in {' '.join(inputs)}")
    return unique


def _walk(root: str, enter: Callable[[tuple[str, ...]], bool] = lambda parts: True
          ) -> Iterator[str]:
    """Every file below ``root`` (links followed), each real folder entered once (by device
    and inode): a loop of links ends. ``enter``: whether a folder (its parts below ``root``)
    can hold a match; one that cannot is not searched."""
    seen: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
    except OSError:
        return
    seen.add((st.st_dev, st.st_ino))
    for folder, dirs, files in os.walk(root, followlinks=True):
        rel = os.path.relpath(folder, root)
        parts = () if rel == os.curdir else tuple(rel.split(os.sep))
        keep = []
        # real folders first: a file is named by its own folder rather than by a link to it
        for d in sorted(dirs, key=lambda d: (os.path.islink(os.path.join(folder, d)), d)):
            try:
                st = os.stat(os.path.join(folder, d))
            except OSError:  # a dangling link, no permission: nothing to find there
                continue
            key = (st.st_dev, st.st_ino)
            if key not in seen and enter((*parts, d)):
                seen.add(key)
                keep.append(d)
        dirs[:] = sorted(keep)
        yield from (os.path.join(folder, f) for f in sorted(files))


def _glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)`` with ``**`` over real folders once (``_walk``):
    the same names (``*`` and ``**`` skip hidden ones, as glob does) for a tree without link
    loops, and an end for one with them. A pattern without ``**`` is glob's own."""
    if "**" not in pattern:
        return glob.glob(pattern)
    parts = [p for p in pattern.split(os.sep) if p]
    fixed = 0
    while fixed < len(parts) and not glob.has_magic(parts[fixed]):
        fixed += 1
    root = os.path.join(os.sep if pattern.startswith(os.sep) else "", *parts[:fixed]) or "."
    rest = tuple(parts[fixed:])
    if not rest or not os.path.isdir(root):
        return []
    out = []
    for f in _walk(root, lambda below: _matches(below, rest, prefix=True)):
        below = tuple(os.path.relpath(f, root).split(os.sep))
        if _matches(below, rest):
            out.append(f)
    return out


def _matches(parts: tuple[str, ...], pattern: tuple[str, ...], prefix: bool = False) -> bool:
    """Whether path ``parts`` match glob ``pattern`` parts (``**``: any number of parts);
    ``prefix``: whether a path below ``parts`` could."""
    from fnmatch import fnmatchcase
    from functools import cache

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(parts):
            return prefix or all(p == "**" for p in pattern[j:])
        if j == len(pattern):
            return False
        part, pat = parts[i], pattern[j]
        hidden = part.startswith(".") and not pat.startswith(".")
        if pat == "**":
            return match(i, j + 1) or (not hidden and match(i + 1, j))
        return not hidden and fnmatchcase(part, pat) and match(i + 1, j + 1)

    return match(0, 0)


def analyze_file(path: str, settings: Settings) -> list[dict]:
    """Rows of one recording: its contractions and (with a protocol) its repetitions; a
    file that cannot be analysed is one ``error`` row; a recording still being written is
    one ``skipped`` row (asked before and after reading it: half a session must never
    count as a session), which the table leaves out."""
    from bbfeedback.recording.repair import recording_now

    if (pid := recording_now(path)) is not None:
        return [_skipped(path, pid)]
    try:
        rows = _rows(path, _analysed(path, settings))
    except InputError as exc:
        return [{"file": path, "kind": "error", "error": str(exc)}]
    except Exception as exc:  # noqa: BLE001 - a bug in one file must not end the archive
        return [{"file": path, "kind": "error",
                 "error": f"internal error ({type(exc).__name__}: {exc})"}]
    if (pid := recording_now(path)) is not None:  # a recorder began while it was read
        return [_skipped(path, pid)]
    return rows


SKIPPED = "skipped"


def _skipped(path: str, pid: int) -> dict:
    return {"file": path, "kind": SKIPPED,
            "error": f"still being recorded (process {pid}); skipped"}


def _analysed(path: str, settings: Settings) -> tuple[dict, dict]:
    """``analyze`` of one file (JSON-ready) and what identifies it: the patient's
    pseudonymous code and when it was recorded, as its header says."""
    from bbfeedback.app.analyze import AnalysisOptions, analyze
    from bbfeedback.app.rescore_setup import protocol_for
    from bbfeedback.detect.contractions import DetectorConfig
    from bbfeedback.recording import read_recording
    from bbfeedback.recording.annotations import finite

    rec = read_recording(path)
    options = AnalysisOptions(mains=settings.mains, window_s=settings.window_s,
                              detector=DetectorConfig(
                                  min_contraction_s=settings.min_contraction_s,
                                  min_gap_s=settings.min_gap_s))
    doc = finite(analyze(rec, options, protocol_for(rec, settings.protocol, False)))
    code = rec.meta.settings.get("patient") or rec.header.get("patientCode") or None
    return doc, {"patient": code if isinstance(code, str) and code != "X" else None,
                 "recorded_at": rec.header.get("start") or None}


def _rows(path: str, analysed: tuple[dict, dict]) -> list[dict]:
    doc, who = analysed
    proto = doc.get("protocol") or {}
    pid = proto.get("id")
    scale = {c["name"]: {"baseline": c["baseline"], "mvc": c["mvc"]} for c in doc["channels"]}
    rows = [{"file": path, **who, "kind": "contraction", "protocol": pid,
             "duration_s": round(c["offset_s"] - c["onset_s"], 4),
             **scale.get(c["channel"], {}), **_pick(c)}
            for c in doc["contractions"]]
    main = proto.get("main_channel")
    for r in doc.get("reps", []):
        row = {"file": path, **who, "kind": "repetition", "protocol": pid, "rep": r["index"],
               "channel": main, **scale.get(main, {}), **_pick(r)}
        row["flags"] = ",".join(r.get("flags", []))
        if r.get("floors_pct_mvc"):
            row["floors_pct_mvc"] = ",".join(f"{v:g}" for v in r["floors_pct_mvc"])
        rows.append(row)
    return rows


def _pick(d: dict) -> dict:
    return {k: v for k, v in d.items() if k in COLUMNS and not isinstance(v, list | dict)}


def run_archive(paths: list[str], settings: Settings, jobs: int = 1,
                scheduler: str | None = None, progress: bool = True) -> list[dict]:
    """Every file's rows, in file order: here (``jobs`` 1), in ``jobs`` processes, or on
    the Dask scheduler at ``scheduler``."""
    bar = _bar(len(paths), progress)
    if scheduler is not None:
        done = _on_dask(paths, settings, scheduler, bar.update)
    elif jobs <= 1:
        done = {}
        for p in paths:
            done[p] = analyze_file(p, settings)
            bar.update()
    else:
        done = _in_processes(paths, settings, jobs, bar.update)
    bar.close()
    return [row for p in paths for row in done[p]]


def _bar(total: int, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, disable=None if progress else True,
                desc="analyze")


def _in_processes(paths: list[str], settings: Settings, jobs: int,
                  tick: Callable[[], object], work: Callable = analyze_file
                  ) -> dict[str, list[dict]]:
    """Files in ``jobs`` processes. A process that dies (killed for memory, a crash in a C
    library) breaks the pool: the files it took down are tried again one process each, so
    only the file that kills its process becomes an error row."""
    done = _pool(paths, settings, jobs, tick, work)
    for p in [p for p, rows in done.items() if rows is None]:
        rows = _pool([p], settings, 1, tick, work)[p]
        done[p] = rows if rows is not None else [{
            "file": p, "kind": "error",
            "error": f"{p}: its analysis process died (out of memory?)"}]
    return done


def _pool(paths: list[str], settings: Settings, jobs: int, tick: Callable[[], object],
          work: Callable) -> dict[str, list[dict] | None]:
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    done: dict[str, list[dict] | None] = {}
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures: dict[Future, str] = {pool.submit(work, p, settings): p for p in paths}
        for f in as_completed(futures):
            try:
                done[futures[f]] = f.result()
                tick()
            except BrokenProcessPool:
                done[futures[f]] = None
    return done


def check_scheduler(address: str) -> str:
    """A Dask scheduler address (``tcp://host:port`` or ``host:port``), or one line."""
    from urllib.parse import urlsplit

    url = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme not in ("tcp", "tls", "inproc", "ws", "wss") or not url.hostname or (
            url.scheme != "inproc" and port is None):
        raise InputError(f"--scheduler {address!r}: give the scheduler's address as "
                         "tcp://HOST:PORT")
    return address


def _on_dask(paths: list[str], settings: Settings, address: str,
             tick: Callable[[], object]) -> dict[str, list[dict]]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'bbfeedback[research]'") from None
    client = _client(Client, address)
    done: dict[str, list[dict]] = {}
    try:
        futures = client.map(analyze_file, paths, settings=settings, pure=False)
        where = {f.key: p for f, p in zip(futures, paths, strict=True)}
        for f in dask_completed(futures):
            path = where[f.key]
            try:
                done[path] = f.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker: that file's error row
                done[path] = [{"file": path, "kind": "error",
                               "error": f"{path}: failed on the cluster ({type(exc).__name__})"}]
            tick()
    finally:
        client.close()
    return done


def _client(client_class, address: str):
    """A connected Dask client, or one line: an address that refuses, answers nonsense or
    says nothing within ``SCHEDULER_TIMEOUT_S`` (a thread: a silent peer can outwait the
    client's own timeout)."""
    import threading

    got: dict = {}

    def connect() -> None:
        try:
            got["client"] = client_class(address, timeout=SCHEDULER_TIMEOUT_S)
        except BaseException as exc:  # noqa: BLE001 - said as one line below
            got["error"] = exc

    t = threading.Thread(target=connect, daemon=True)
    t.start()
    t.join(SCHEDULER_TIMEOUT_S + 5)
    if "client" in got:
        return got["client"]
    why = got.get("error")
    reason = f"{type(why).__name__}: {str(why)[:80]}" if why else "no answer"
    raise InputError(f"cannot reach the Dask scheduler at {address} ({reason})")


def write_rows(rows: list[dict], out: Path, force: bool = False, inputs: tuple = ()) -> None:
    """The table as Parquet or CSV (by the name's ending), every column always there;
    written whole or not at all, private (it names patients by their codes)."""
    import io

    from bbfeedback.recording.outputs import write_private

    rows = [r for r in rows if r["kind"] != SKIPPED]  # never a half-written recording
    table = {c: [_utf8(r.get(c)) for r in rows] for c in COLUMNS}
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError("--out .parquet needs pyarrow: pip install "
                             "'bbfeedback[research]' (or write .csv)") from None
        types = {**{c: pa.string() for c in TEXT_COLUMNS}, "rep": pa.int64(),
                 "met": pa.bool_()}
        buf = io.BytesIO()
        pq.write_table(pa.table({c: pa.array(v, type=types.get(c, pa.float64()))
                                 for c, v in table.items()}), buf)
        write_private(out, buf.getvalue(), force, inputs)
        return
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(COLUMNS)
    w.writerows(zip(*table.values(), strict=True))
    write_private(out, text.getvalue(), force, inputs)


def _utf8(value: object) -> object:
    """A text as UTF-8 can hold it: a file name that is not UTF-8 (``caf\xe9.edf``, read
    by Python with its bytes as lone surrogates) with those bytes written ``\xe9``; it
    stopped the table from being written after every file was analysed."""
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no byte of a name
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def failures(rows: list[dict]) -> Iterator[str]:
    """One line per file that could not be analysed, or was skipped."""
    for r in rows:
        if r["kind"] in ("error", SKIPPED):
            said = r["error"]
            yield said if said.startswith(r["file"]) else f"{r['file']}: {said}"


def summary_line(paths: list[str], rows: list[dict], out: Path) -> str:
    bad = sum(r["kind"] == "error" for r in rows)
    skipped = sum(r["kind"] == SKIPPED for r in rows)
    reps = sum(r["kind"] == "repetition" for r in rows)
    contractions = sum(r["kind"] == "contraction" for r in rows)
    return (f"{out}: {len(paths) - bad - skipped} of {len(paths)} recordings analysed, "
            f"{contractions} contractions and {reps} repetitions"
            + (f"; {bad} failed (above)" if bad else "")
            + (f"; {skipped} still being recorded, skipped (above)" if skipped else ""))


def settings_of(args) -> Settings:
    return Settings(**{k: getattr(args, k) for k in asdict(Settings())})


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
