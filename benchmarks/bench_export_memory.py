"""Peak memory of ``bbfeedback export`` (plain and ``--anonymise``) on a ~20 MB and a ~200 MB
EDF+ file: the peak resident set of a child process each (``wait4``'s ru_maxrss), so the
interpreter and imports are counted too. Streamed, the two sizes need the same memory; a
whole-file copy (the file read into memory and written, as ``export`` did before issue 23)
grows with the file: the reference in the same run.

    python benchmarks/bench_export_memory.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_export_privacy import clinic_notes, make_edf  # noqa: E402 - the test's file maker

OLD = ("import sys; from pathlib import Path; from bbfeedback.recording.outputs import "
       "write_private; write_private(sys.argv[2], Path(sys.argv[1]).read_bytes(), True)")


def peak_mb(cmd: list[str]) -> float:
    """The peak resident memory of one child process, in MB."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return usage.ru_maxrss / 1024  # kB on Linux


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {"20 MB": make_edf(root / "small.edf", 1650, clinic_notes(), fs=2000),
                 "200 MB": make_edf(root / "big.edf", 16500, clinic_notes(), fs=2000)}
        exe = [sys.executable, "-m", "bbfeedback", "export"]
        rows = []
        for label, path in files.items():
            out = root / "copy.edf"
            rows.append((label, path.stat().st_size / 1e6,
                         peak_mb([*exe, str(path), "--out", str(out), "--force"]),
                         peak_mb([*exe, str(path), "--anonymise", "--out", str(out),
                                  "--force"]),
                         peak_mb([sys.executable, "-c", OLD, str(path), str(out)])))
        print(f"{'file':>8} {'size MB':>8} {'export':>10} {'--anonymise':>12} "
              f"{'whole-file copy':>17}   (peak RSS of the process, MB)")
        for label, size, plain, anon, old in rows:
            print(f"{label:>8} {size:8.1f} {plain:10.1f} {anon:12.1f} {old:17.1f}")
        (_, _, p1, a1, o1), (_, _, p2, a2, o2) = rows
        print(f"ratio 200 MB / 20 MB: export {p2 / p1:.2f}, --anonymise {a2 / a1:.2f}, "
              f"whole-file copy {o2 / o1:.2f}")


if __name__ == "__main__":
    main()
