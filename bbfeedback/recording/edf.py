"""EDF, EDF+ and BDF(+) through pyedflib (EDFlib's C reader/writer).

Signals come out in physical units from the header, converted to µV (EMG) or cmH2O
(pressure); the "EDF Annotations" channel becomes ``Annotation`` objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib

from ..errors import InputError
from ..signals import guess_kind
from . import Annotation, Recording, Signal, make_signal

_HEADER_KEYS = ("patientcode", "patientname", "equipment", "recording_additional", "technician")


def _open(path: Path) -> pyedflib.EdfReader:
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    try:
        return pyedflib.EdfReader(str(path))
    except OSError as exc:
        reason = str(exc).split("\n")[0].strip() or "not a valid EDF/BDF file"
        raise InputError(f"not a readable EDF/BDF file ({reason})", path) from None


def read_edf(path: Path, kinds: dict[str, str]) -> Recording:
    reader = _open(path)
    try:
        signals = [_read_signal(reader, i, kinds, path) for i in range(reader.signals_in_file)]
        onsets, durations, texts = reader.readAnnotations()
        header = {k: getattr(reader, f"get{k[0].upper()}{k[1:]}", lambda: "")()
                  for k in ("equipment", "technician", "patientCode")}
        header["start"] = reader.getStartdatetime().isoformat()
    finally:
        reader.close()
    annotations = [
        Annotation(float(o), float(d) if d and d > 0 else 0.0, str(t))
        for o, d, t in zip(onsets, durations, texts, strict=True)
    ]
    return Recording(signals, annotations, str(path), header)


def _read_signal(reader: pyedflib.EdfReader, i: int, kinds: dict[str, str],
                 path: Path) -> Signal:
    label = reader.getLabel(i).strip()
    unit = reader.getPhysicalDimension(i).strip()
    fs = float(reader.getSampleFrequency(i))
    kind = kinds.get(label) or guess_kind(label, unit)
    try:
        values = reader.readSignal(i)
    except Exception as exc:  # EDFlib reports truncated data as a generic error
        raise InputError(f"signal {label!r} cannot be read ({exc})", path) from None
    return make_signal(label, unit, kind, fs, values, f"{path}: signal {label!r}")


def write_edf(path: str | Path, signals: list[Signal], annotations: list[Annotation],
              header: dict | None = None) -> None:
    """Write a whole recording as EDF+ (1-s data records, 16-bit, physical range from data)."""
    path = Path(path)
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders([_signal_header(s) for s in signals])
        for key, value in (header or {}).items():
            if key in _HEADER_KEYS:
                getattr(writer, "set" + {"patientcode": "PatientCode",
                                         "patientname": "PatientName",
                                         "equipment": "Equipment",
                                         "recording_additional": "RecordingAdditional",
                                         "technician": "Technician"}[key])(_ascii(value))
        for a in annotations:
            writer.writeAnnotation(a.onset_s, a.duration_s if a.duration_s > 0 else -1, a.text)
        writer.writeSamples([np.ascontiguousarray(s.data, dtype=float) for s in signals])
    finally:
        writer.close()


def _ascii(value: object) -> str:
    """EDF header fields: printable ASCII without spaces (the standard's rule)."""
    text = str(value).encode("ascii", "replace").decode().replace(" ", "_")
    return "".join(ch if 32 < ord(ch) < 127 else "_" for ch in text)


def _signal_header(s: Signal) -> dict:
    lo, hi = float(np.min(s.data)), float(np.max(s.data))
    pad = max(1.0, 0.05 * (hi - lo))
    return {
        "label": s.channel.name,
        "dimension": s.channel.unit,
        "sample_frequency": s.fs_hz,
        "physical_min": np.floor(lo - pad),
        "physical_max": np.ceil(hi + pad),
        "digital_min": -32768,
        "digital_max": 32767,
        "transducer": "",
        "prefilter": "",
    }
