"""EDF, EDF+ and BDF(+) through pyedflib (EDFlib's C reader/writer).

Signals come out in physical units from the header, converted to µV (EMG) or cmH2O
(pressure); the "EDF Annotations" channel becomes ``Annotation`` objects.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import weakref
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

from bbfeedback.errors import InputError
from bbfeedback.recording import MAX_RATE_HZ, Annotation, Recording, Signal, edf_header, make_signal
from bbfeedback.recording.edf_writer import EdfPlusWriter, SignalSpec
from bbfeedback.recording.tal import not_closed, read_tals
from bbfeedback.signal.blocks import OTHER, guess_kind, unit_kind


class EdfSamples:
    """One signal of an open EDF file in canonical units, read when sliced: analysis streams
    a recording of any length in constant memory. ``np.asarray`` reads all of it."""

    def __init__(self, reader: pyedflib.EdfReader, index: int, size: int, factor: float,
                 where: str, path: Path | None = None, need_bytes: int = 0):
        """``path`` and ``need_bytes``: the file, and the size its header promises: EDFlib
        reads zeros (and prints to stdout) where a file was cut off after it was opened."""
        self._reader, self._index, self._factor, self._where = reader, index, factor, where
        self._path, self._need = path, need_bytes
        self.size = size

    def __len__(self) -> int:
        return self.size

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            return np.asarray(self)[key]
        a, b, _ = key.indices(self.size)
        if b <= a:
            return np.zeros(0)
        self._check_whole()
        try:
            values = self._reader.readSignal(self._index, a, b - a) * self._factor
        except Exception as exc:  # EDFlib reports truncated data as a generic error
            raise InputError(f"cannot be read ({exc})", self._where) from None
        self._check_whole()
        return values

    def _check_whole(self) -> None:
        if self._path is not None and self._path.stat().st_size < self._need:
            raise InputError("was cut off while being read (it is now shorter than its "
                             "header says); nothing was written from it", self._path)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        x = self[0:self.size]
        return x if dtype is None else x.astype(dtype)

    def limited(self, n: int) -> EdfSamples:
        """The first ``n`` samples (the writer's padding cut off)."""
        return EdfSamples(self._reader, self._index, min(n, self.size), self._factor,
                          self._where, self._path, self._need)


def _open(path: Path) -> tuple[pyedflib.EdfReader, bool, edf_header.Header | None]:
    """The reader, whether EDFlib read the annotations too, and the header as checked
    (``_check_length``). A file EDFlib refuses only for its annotation channel is opened
    without it (see ``tal``)."""
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    header = _check_length(path)
    try:
        with _quiet_stdout():
            return _reader(path), True, header
    except OSError as exc:
        reason = str(exc).split("\n")[0].strip() or "not a valid EDF/BDF file"
    try:
        with _quiet_stdout():
            return _reader(path, pyedflib.DO_NOT_READ_ANNOTATIONS), False, header
    except OSError:
        raise InputError(f"not a readable EDF/BDF file ({reason})", path) from None


def _reader(path: Path, *options: int) -> pyedflib.EdfReader:
    """EDFlib's reader of ``path``. pyedflib encodes names as UTF-8, so a file whose name is
    not (Latin-1 bytes from an old archive: ``caf\xe9.edf``) failed with a traceback; it is
    opened here and handed over as ``/proc/self/fd/N`` (``/dev/fd/N``), which EDFlib opens
    anew. Our descriptor stays open as long as the reader, so that no other file gets that
    name meanwhile (EDFlib refuses a name it has open)."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return pyedflib.EdfReader(name, *options)
    folder = next((d for d in ("/proc/self/fd", "/dev/fd") if os.path.isdir(d)), None)
    if folder is None:
        raise InputError("its name is not UTF-8, which the EDF library cannot open here: "
                         "rename the file", path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"cannot be opened ({exc.strerror})", path) from None
    try:
        reader = pyedflib.EdfReader(f"{folder}/{fd}", *options)
    except BaseException:
        os.close(fd)
        raise
    weakref.finalize(reader, os.close, fd)
    return reader


def incomplete(path: Path) -> str | None:
    """Why ``path`` is not a whole recording (cut off, still being written, a header not
    brought up to date, with the way out), or None: the length check every reader makes,
    for a command that skips such a file in a folder rather than stopping at it."""
    try:
        _check_length(path)
    except InputError as exc:
        return exc.message
    return None


def _check_length(path: Path) -> edf_header.Header | None:
    """A file shorter than its header says (cut off, or still being written) is named as
    such, with the way out, before EDFlib looks at it; so is one longer by whole records
    (a header not brought up to date: EDFlib reads only the records the header counts,
    without a word, 10 s of 91), so that no command uses part of a file as if it were all.
    The header it read, for the reader (None: EDFlib will say what is wrong)."""
    header = _header_or_none(path)
    if header is None:
        return None  # not even a header: EDFlib names what is wrong
    header_bytes, record_bytes, records = header.header_bytes, header.record_bytes, header.records
    # every reader comes here (``_open``), export and BIDS too
    if records == edf_header.STILL_RECORDING:
        raise not_closed(path)
    size = path.stat().st_size
    if records > 0 and size < header_bytes + record_bytes:  # recover finds nothing either
        raise InputError("holds not one whole data record of the size its header gives (cut "
                         "off at its start, or a damaged header): nothing can be read from it",
                         path)
    if size < header_bytes + records * record_bytes:
        raise InputError("is cut off or still being recorded (its header promises more "
                         f"than the file holds): bbfeedback recover {path}", path)
    held = (size - header_bytes) // record_bytes
    if held > records:
        raise InputError(f"the header says {_span(header, records)} but the file holds "
                         f"{_span(header, held)} (a recording whose header was not brought up "
                         f"to date); run `bbfeedback recover {path}`", path)
    return header


def _span(header: edf_header.Header, records: int) -> str:
    """``records`` data records as seconds, by the header's record duration ("10 s"), or as
    records when that field does not read as one."""
    duration_s = header.record_s
    if not (math.isfinite(duration_s) and duration_s > 0):
        return f"{records} data records"
    return f"{records * duration_s:g} s"


def _header_or_none(path: Path) -> edf_header.Header | None:
    try:
        return edf_header.read(path)
    except edf_header.HeaderError:
        return None


@contextlib.contextmanager
def _quiet_stdout():
    """EDFlib prints some errors to the C stdout before raising them: keep that off the
    user's screen (the error itself is reported as one line)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def check_header(path: Path) -> None:
    """A file whose header EDFlib accepts, that holds what its header says, at rates the
    signal chain can filter (as ``analyze`` checks: ``check_rates``), or one line; before
    anything is done with it (``export``)."""
    from bbfeedback.recording import check_rates

    rec = read_edf(path, {})
    try:
        check_rates(rec)
    finally:
        for s in rec.signals:  # the samples are not read: the file is closed now
            if isinstance(s.data, EdfSamples):
                s.data._reader.close()
                break  # one reader for all of them


def read_edf(path: Path, kinds: dict[str, str]) -> Recording:
    """The header and annotations now; the samples stay in the file (``EdfSamples``), which
    stays open while its signals are in use."""
    reader, with_annotations, header = _open(path)
    try:
        need = header.header_bytes + header.record_bytes * header.records if header else 0
        signals = [_read_signal(reader, i, kinds, path, need)
                   for i in range(reader.signals_in_file)]
        header = {k: getattr(reader, f"get{k[0].upper()}{k[1:]}", lambda: "")()
                  for k in ("equipment", "technician", "patientCode")}
        header["start"] = reader.getStartdatetime().isoformat()
        tals = zip(*reader.readAnnotations(), strict=True) if with_annotations else []
    except BaseException:
        reader.close()
        raise
    damaged = 0
    if not with_annotations:
        tals, damaged = read_tals(path)
    annotations = [Annotation(float(o), float(d) if d and d > 0 else 0.0, str(t))
                   for o, d, t in tals]
    rec = Recording(signals, annotations, str(path), header)
    if not with_annotations:
        rec.warn(f"the annotation channel is damaged ({damaged} unreadable annotation "
                 f"lists left out; {len(annotations)} read)")
    _cut_padding(rec)
    return rec


def _cut_padding(rec: Recording) -> None:
    """Cut off what our writer added after the signal's true end (``bbfeedback:padding``:
    the last record's fill, and records that only carry the last annotations; its value
    checked by ``schemas.Padding``). A padding note before any other annotation, or past the
    end, is damage: ignored, with a warning."""
    padding = rec.meta.last("padding")
    if padding is None:
        return
    end_s = padding["from_s"]
    last_note_s = max((a.onset_s for a in rec.annotations
                       if not a.text.startswith("bbfeedback:padding")), default=0.0)
    if not last_note_s - 1e-3 <= end_s <= rec.duration_s:
        rec.warn(f"padding annotation {padding!r:.60} does not fit the signal's end; ignored")
        return
    for s in rec.signals:
        n = int(round(end_s * s.fs_hz))
        s.data = s.data.limited(n) if isinstance(s.data, EdfSamples) else s.data[:n]


def _read_signal(reader: pyedflib.EdfReader, i: int, kinds: dict[str, str],
                 path: Path, need_bytes: int = 0) -> Signal:
    label = reader.getLabel(i).strip()
    unit = reader.getPhysicalDimension(i).strip()
    try:  # EDFlib divides by the record duration the header gives, whatever it is
        fs = float(reader.getSampleFrequency(i))
    except (ArithmeticError, ValueError):
        fs = float("nan")
    if not (math.isfinite(fs) and 0 < fs <= MAX_RATE_HZ):
        raise InputError(f"signal {label!r}: {fs:.6g} samples a second is not a sample rate "
                         f"(record duration {reader.datarecord_duration:.6g} s in the header)",
                         path)
    kind = kinds.get(label) or guess_kind(label, unit)
    where = f"{path}: signal {label!r}"
    signal = make_signal(label, unit, kind, fs, np.zeros(0), where)  # checks the unit
    factor = 1.0 if kind == OTHER else unit_kind(unit)[1]
    signal.data = EdfSamples(reader, i, int(reader.getNSamples()[i]), factor, where, path,
                             need_bytes)
    try:
        lo, hi = sorted((float(reader.getPhysicalMinimum(i)) * factor,
                         float(reader.getPhysicalMaximum(i)) * factor))
        signal.limits = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and hi > lo \
            else None
    except (ArithmeticError, ValueError):
        signal.limits = None
    return signal


def write_edf(path: str | Path, signals: list[Signal], annotations: list[Annotation],
              header: dict | None = None) -> None:
    """Write a whole recording as EDF+ (16-bit, physical range from the data)."""
    header = header or {}
    specs = [spec_for(s.channel.name, s.channel.unit, s.fs_hz, s.data) for s in signals]
    start = header.get("start") or datetime(2000, 1, 1)
    patient = f"{_ascii(header.get('patient', 'X'))} X X X"
    with EdfPlusWriter(path, specs, start, patient=patient,
                       recording=f"X X {_ascii(header.get('equipment', 'X'))} bbfeedback") as w:
        for a in sorted(annotations, key=lambda a: a.onset_s):
            w.annotate(a.onset_s, a.text, a.duration_s)
        w.write([s.data for s in signals])


def spec_for(label: str, unit: str, fs_hz: float, data: np.ndarray | None = None,
             lo: float | None = None, hi: float | None = None) -> SignalSpec:
    """Signal header; the physical range from the data (with 5 % headroom) unless given."""
    if data is not None and data.size:
        lo, hi = float(np.min(data)), float(np.max(data))
        pad = max(1.0, 0.05 * (hi - lo))
        lo, hi = np.floor(lo - pad), np.ceil(hi + pad)
    return SignalSpec(label, unit, fs_hz, float(lo), float(hi))


def _ascii(value: object) -> str:
    """EDF header fields: printable ASCII without spaces (the standard's rule)."""
    text = str(value).encode("ascii", "replace").decode().replace(" ", "_")
    return "".join(ch if 32 < ord(ch) < 127 else "_" for ch in text)
