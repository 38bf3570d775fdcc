"""EMG-BIDS export (BIDS 1.11 EMG): recordings as a dataset a researcher's tools can open.

Layout: ``sub-<code>/ses-<n>/emg/sub-<code>_ses-<n>_task-<protocol>_emg.edf|bdf`` with its
``_emg.json``, ``_channels.tsv`` and ``_events.tsv`` (+ ``.json``); at the top
``dataset_description.json``, ``README`` and ``participants.tsv`` (+ ``.json``).

Privacy: participants are known by their pseudonymous codes only (letters and digits: BIDS
labels): ``--subject`` when given (the header's patient field is then never used: it may hold
a name or a national number), else the code in the header. Each data file is an anonymised
copy (``recording.anonymise``, streamed): the EDF patient field carries the code, the
recording field and the start date are blanked, so no date is exported (no ``scans.tsv``),
and free text (annotation texts, transducer, prefiltering) is removed as ``export
--anonymise`` does. A recording still being recorded is refused, or skipped with a line
when it was found in a folder. Sessions are numbered per participant in recording order
(the header's start time, then the file name, then the data), so exporting the same files
again gives the same numbers.

The data files hold the raw samples as recorded, unfiltered: ``SoftwareFilters`` is therefore
"n/a" (BIDS: filters applied to the stored data). How bbfeedback processed them (notch,
band-pass, RMS envelope, detector thresholds, calibration, the session's settings) is kept in
the ``bbfeedback`` object of ``_emg.json``, and the events (cues, detected contractions,
repetition scores) come from ``analyze`` of the same recording, so they match
``bbfeedback analyze --json``.

The dataset is built in a temporary folder beside ``--out`` and renamed into place when
complete: an error leaves nothing behind, and ``--force`` only replaces a folder that is
empty or an earlier bbfeedback export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bbfeedback import __version__
from bbfeedback.app.analyze import MAINS_PROBE_S, AnalysisOptions, analyze
from bbfeedback.app.anonymise import check_finished, exported
from bbfeedback.app.recorder import PATIENT_ID
from bbfeedback.app.rescore_setup import recorded_protocol, recorded_protocol_itself
from bbfeedback.errors import InputError
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.recording import Recording, edf_header, read_recording, recording_file
from bbfeedback.recording.annotations import finite
from bbfeedback.recording.edf import incomplete
from bbfeedback.recording.outputs import write_private
from bbfeedback.recording.repair import recording_now
from bbfeedback.signal.blocks import EMG, OTHER, PRESSURE
from bbfeedback.signal.filters import detect_mains
from bbfeedback.signal.pipeline import PipelineConfig

log = logging.getLogger("bbfeedback")
BIDS_VERSION = "1.11.1"  # the first with EMG is 1.11.0; 1.11.1 fixed its timeseries rules
SUFFIXES = (".edf", ".bdf")
NO_CODE = ("", "X")  # what an EDF+ patient field holds when there is no code
FREE_TASK = "free"  # task of a recording without a bbfeedback protocol
TARGET_MUSCLE = {"main": "pelvic floor muscles", "accessory": "abdominal muscles"}
# device name (``bbfeedback:device``) -> (Manufacturer, ManufacturersModelName)
DEVICES = {
    "sim": ("bbfeedback", "simulated sensor (no participant)"),
    "p2": ("OpenEEG", "ModularEEG (P2 packets)"),
    "cyton": ("OpenBCI", "Cyton"),
    "bitalino": ("PLUX", "BITalino"),
    "ascii": ("n/a", "serial device sending text lines"),
    "lsl": ("n/a", "Lab Streaming Layer stream"),
}
EVENT_COLUMNS = ("onset", "duration", "trial_type", "value", "channel", "sample", "rep",
                 "met", "hold_s", "target_hold_s", "peak", "mean", "unit", "peak_pct_mvc",
                 "mean_pct_mvc", "rise_s", "release_s", "rest_residual_pct", "flags",
                 "section")


@dataclass
class Source:
    """One recording to export, as found in the first pass (its samples not kept)."""

    path: Path
    code: str  # the pseudonymous patient code (header, or --subject)
    label: str  # the BIDS subject label made from it
    start: str  # ISO start time from the header: orders the sessions
    digest: str  # SHA-256 of the data records: a copy is the same recording
    session: str = ""


@dataclass
class Export:
    """What was written: the dataset folder and each recording's data file in it."""

    out: Path
    files: dict[Path, Path] = field(default_factory=dict)  # source -> exported data file
    participants: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # in a folder: recording, or cut off


def subject_label(code: str) -> str:
    """A BIDS label from a patient code: its letters and digits ("P-7" -> "P7")."""
    return re.sub(r"[^A-Za-z0-9]", "", code)


def task_label(protocol_id: str) -> str:
    """A BIDS task label from a protocol id ("a1-strength" -> "a1strength")."""
    return re.sub(r"[^A-Za-z0-9]", "", protocol_id) or FREE_TASK


def find_recordings(paths: Iterable[str | Path],
                    skipped: list[Path] | None = None) -> list[Path]:
    """The EDF/BDF files named, and those directly inside the folders named (sorted), each
    once; one line for anything else (a missing file, a CSV, a folder without recordings,
    a recording named that is still being recorded). A recording in a folder that is still
    being recorded, or was cut off (``recording.edf.incomplete``: it needs ``bbfeedback
    recover``), is left out with a warning line (and added to ``skipped``): a folder of
    today's sessions may hold the one in progress, and half a session is no session."""
    found: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            inside = sorted(f for f in p.iterdir()
                            if f.suffix.lower() in SUFFIXES and f.is_file()
                            and not f.name.startswith("."))
            if not inside:
                raise InputError("no .edf or .bdf recordings in this folder", p)
            for f in inside:
                why = (f"still being recorded (process {pid})"
                       if (pid := recording_now(f)) is not None else incomplete(f))
                if why is not None:
                    log.warning("%s: %s; skipped", f, why)
                    if skipped is not None:
                        skipped.append(f)
                else:
                    found.append(f)
            continue
        if p.exists() and p.suffix.lower() not in SUFFIXES:
            raise InputError("not an EDF or BDF recording (EMG-BIDS takes .edf or .bdf)", p)
        found.append(recording_file(p))  # missing, not a regular file: one line
        check_finished(p)
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())


def check_out(out: str | Path, force: bool, inputs: list[Path]) -> Path:
    """The dataset folder to create, or one line why not: it exists (without ``--force``),
    it is not ours to replace, it is a link, or it holds an input recording."""
    path = Path(out)
    if path.is_symlink():
        raise InputError("is a symbolic link; give the real path", path)
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InputError("folder does not exist", parent)
    if not os.access(parent, os.W_OK):
        raise InputError("folder is not writable", parent)
    if path.exists():
        if not path.is_dir():
            raise InputError("is a file; give a folder for the dataset", path)
        if not force:
            raise InputError("exists already; give a new folder or --force", path)
        if any(path.iterdir()) and not _our_export(path):
            raise InputError("is not an earlier bbfeedback BIDS export; not replaced (give a "
                             "new folder)", path)
        root = path.resolve()
        for src in inputs:
            if root in src.resolve().parents:
                raise InputError(f"holds the recording {src}; give another folder", path)
    return path


def _our_export(path: Path) -> bool:
    try:
        doc = json.loads((path / "dataset_description.json").read_text(encoding="utf-8"))
        return any(g.get("Name") == "bbfeedback" for g in doc.get("GeneratedBy", []))
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def survey(paths: list[Path], subject: str | None = None) -> list[Source]:
    """Every recording read once (so that a bad one stops the export before anything is
    written), its participant code chosen (``--subject``, else the header's code, checked),
    copies of one recording dropped, and sessions numbered per participant in recording
    order. With ``--subject`` the headers' patient fields are never used, but recordings
    whose headers name different patients are refused: one code would merge them."""
    if subject is not None and not PATIENT_ID.match(subject):
        raise InputError(f"--subject {subject!r} must be a pseudonymous code (letters, "
                         "digits, - _ .; no spaces), not a name")
    sources: list[Source] = []
    seen: dict[str, Path] = {}
    header_codes: dict[str, Path] = {}
    for p in paths:
        rec = read_recording(p)
        digest = _data_digest(p)
        if digest in seen:
            log.warning("%s: the same recording as %s; exported once", p, seen[digest])
            continue
        seen[digest] = p
        code = (rec.header.get("patientCode") or "").strip()
        if subject is not None:
            if code not in NO_CODE:
                header_codes.setdefault(code, p)
            if len(header_codes) > 1:
                first, other = list(header_codes.values())[:2]
                raise InputError(f"{first} and {other} are recordings of different patients "
                                 "(their headers differ): export each patient's recordings "
                                 "with their own --subject", p)
            code = subject
        elif code in NO_CODE:
            raise InputError("has no pseudonymous patient code in its header; give one "
                             "with --subject CODE", p)
        elif not PATIENT_ID.match(code):
            raise InputError(f"patient code {code!r} in the header is not a pseudonymous "
                             "code (letters, digits, - _ .): give the participant's code "
                             "with --subject CODE", p)
        label = subject_label(code)
        if not label:
            raise InputError(f"patient code {code!r} has no letters or digits for a BIDS "
                             "label", p)
        sources.append(Source(p, code, label, str(rec.header.get("start") or ""), digest))
    _check_labels(sources)
    by_label: dict[str, list[Source]] = {}
    for s in sorted(sources, key=lambda s: (s.start, s.path.name, s.digest)):
        by_label.setdefault(s.label, []).append(s)
    for group in by_label.values():
        width = max(2, len(str(len(group))))
        for n, s in enumerate(group, start=1):
            s.session = f"{n:0{width}d}"
    return sources


def _check_labels(sources: list[Source]) -> None:
    """Two patient codes that become one BIDS label would merge two participants."""
    codes: dict[str, str] = {}
    for s in sources:
        other = codes.setdefault(s.label, s.code)
        if other != s.code:
            raise InputError(f"patient codes {other!r} and {s.code!r} both become "
                             f"sub-{s.label}; export them to separate folders")


def _data_digest(path: Path) -> str:
    """SHA-256 of a file's data records (the header left out: a copy differs only there)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        fh.seek(edf_header.read(fh).header_bytes)
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def export_bids(paths: Iterable[str | Path], out: str | Path, force: bool = False,
                subject: str | None = None) -> Export:
    """Write the recordings as an EMG-BIDS dataset in ``out`` (whole or not at all)."""
    skipped: list[Path] = []
    files = find_recordings(paths, skipped)
    if not files:
        raise InputError("every recording found is still being recorded or cut off: nothing "
                         "to export")
    target = check_out(out, force, files)
    sources = survey(files, subject)
    parent = target.absolute().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=parent))
    try:
        done = Export(target, skipped=skipped)
        for s in sources:
            done.files[s.path] = target / _write_session(tmp, s).relative_to(tmp)
        done.participants = sorted({s.label for s in sources})
        _write_top(tmp, done.participants, sources)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return done


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished dataset into place; an earlier export is removed only after."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                    dir=target.absolute().parent))
        os.replace(target, old / target.name)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if old is not None:
            os.replace(old / target.name, target)
        raise InputError(f"cannot create ({exc.strerror or exc})", target) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_top(root: Path, labels: list[str], sources: list[Source]) -> None:
    description = {
        "Name": "bbfeedback pelvic-floor EMG recordings",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "bbfeedback", "Version": __version__,
                         "Description": "bbfeedback export-bids: anonymised copies of "
                                        "myofeedback recordings, with their cues, detected "
                                        "contractions and repetition scores as events"}],
    }
    _write_json(root / "dataset_description.json", description)
    _write_tsv(root / "participants.tsv", ["participant_id"],
               [{"participant_id": f"sub-{label}"} for label in labels])
    _write_json(root / "participants.json", {"participant_id": {
        "Description": "Pseudonymous patient code of the recordings (its letters and digits "
                       "only); no names or dates of birth are exported"}})
    write_private(root / "README", README.format(n=len(sources), p=len(labels),
                                                 version=__version__))


README = """\
bbfeedback pelvic-floor EMG recordings
======================================

Recordings: {n}; participants: {p}. Exported by bbfeedback {version} (export-bids) as
EMG-BIDS (BIDS 1.11).

- Participants are known by their pseudonymous codes only (letters and digits); the data
  files are anonymised copies: their headers hold no names, dates of birth or recording
  dates (EDF+ style: patient "CODE X X X", start date 01.01.85).
- One session per recording, numbered per participant in recording order; the task is the
  bbfeedback exercise protocol the session ran ("free": none).
- The data files hold the raw samples as recorded, unfiltered (SoftwareFilters "n/a");
  channels.tsv gives each channel's type and units (squeeze pressure: type MISC, cmH2O).
- events.tsv: the protocol's cues (trial_type cue, calibration_cue), the contractions
  bbfeedback detects (contraction) and each repetition's score (repetition), as
  `bbfeedback analyze --json` gives them for the same file; events.json describes the
  columns.
- The "bbfeedback" object of each _emg.json holds how bbfeedback processed the signal:
  notch, band-pass and RMS envelope settings, detector thresholds, the calibration
  (resting baseline, MVC) and the session's settings as recorded.
"""


def _write_session(root: Path, s: Source) -> Path:
    """One recording's data file and sidecars; the data file's path. The sidecars and events
    come from the anonymised copy itself (its analysis equals the original's: the samples
    and bbfeedback's annotations are kept), so they carry no more than it does."""
    copy = root / f".{s.label}-{s.session}{s.path.suffix.lower()}"
    chunks, _ = exported(s.path, anonymise=True, code=s.label)
    write_private(copy, chunks)
    protocol = _protocol(read_recording(copy))  # the task names the file
    task = task_label(protocol.id) if protocol is not None else FREE_TASK
    folder = root / f"sub-{s.label}" / f"ses-{s.session}" / "emg"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"sub-{s.label}_ses-{s.session}_task-{task}"
    data = folder / f"{stem}_emg{s.path.suffix.lower()}"
    os.replace(copy, data)
    rec = read_recording(data)
    result = analyze(rec, AnalysisOptions(), protocol)
    header = edf_signal_headers(data)
    _write_json(folder / f"{stem}_emg.json", sidecar(rec, result, protocol, header))
    _write_tsv(folder / f"{stem}_channels.tsv", CHANNEL_COLUMNS, channel_rows(rec, result, header))
    _write_tsv(folder / f"{stem}_events.tsv", list(EVENT_COLUMNS), event_rows(rec, result))
    _write_json(folder / f"{stem}_events.json", events_sidecar(rec))
    return data


def _analysis(rec: Recording) -> tuple[dict, Protocol | None]:
    """``analyze`` as ``bbfeedback analyze`` runs it, and the protocol it scored."""
    protocol = _protocol(rec)
    return analyze(rec, AnalysisOptions(), protocol), protocol


def _protocol(rec: Recording) -> Protocol | None:
    """The protocol ``bbfeedback analyze`` scores a recording with: the one the session ran
    (as recorded), else none (contractions only)."""
    if recorded_protocol(rec) is None:
        return None
    try:
        return recorded_protocol_itself(rec)
    except InputError as exc:
        log.warning("%s; exporting its contractions without repetition scores", exc)
        return None


def edf_signal_headers(path: Path) -> dict[str, dict]:
    """Each signal's physical unit, transducer and prefiltering as the EDF/BDF header says
    (bbfeedback converts units when reading; channels.tsv describes the file)."""
    return {s.label: {"transducer": s.transducer, "unit": s.unit, "prefilter": s.prefilter}
            for s in edf_header.read(path).signals}


def power_line_hz(rec: Recording) -> float | str:
    """The mains frequency: the hum found in the EMG (50 or 60 Hz), else the one the session
    notched, else "n/a"."""
    for sig in rec.signals:
        if sig.channel.kind == EMG:
            hz, _ = detect_mains(sig.data[: int(MAINS_PROBE_S * sig.fs_hz)], sig.fs_hz)
            if hz is not None:
                return hz
    notch = rec.meta.settings.get("notch_hz") or []
    for base in (50.0, 60.0):
        if notch and min(notch) == base:
            return base
    return "n/a"


def _main_rate(rec: Recording) -> float:
    """The sampling frequency of the EMG (of the first channel, if none is EMG)."""
    emg = [s.fs_hz for s in rec.signals if s.channel.kind == EMG]
    return (emg or [s.fs_hz for s in rec.signals] or [0.0])[0]


def sidecar(rec: Recording, result: dict, protocol: Protocol | None,
            header: dict[str, dict]) -> dict:
    """The ``_emg.json`` of one recording."""
    device = rec.meta.last("device") or {}
    name = str(device.get("name") or rec.header.get("equipment") or "")
    maker, model = DEVICES.get(name, ("n/a", name or "n/a"))
    prefilters = {label: h["prefilter"] for label, h in header.items() if h["prefilter"]}
    doc: dict = {
        "TaskName": protocol.id if protocol is not None else FREE_TASK,
        "TaskDescription": (
            "A recording without a bbfeedback exercise protocol" if protocol is None else
            f"{protocol.name['en']}: {protocol.description['en']}" if protocol.name["en"] else
            "A therapist's own exercise protocol (its names and texts are not exported)"),
        "SamplingFrequency": _main_rate(rec),
        "PowerLineFrequency": power_line_hz(rec),
        "EMGReference": "n/a",
        "EMGGround": "n/a",
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": (
            "Pelvic-floor EMG for myofeedback (an intravaginal or anal probe, or perianal "
            "surface electrodes) and, when recorded, an abdominal channel for co-contraction; "
            "the exact placement is not recorded in the file"),
        "SoftwareFilters": "n/a",
        "HardwareFilters": ({f"EDF prefiltering of {label}": {"Description": text}
                             for label, text in prefilters.items()} or "n/a"),
        "RecordingType": "continuous",
        "RecordingDuration": round(rec.duration_s, 6),
        "EMGChannelCount": sum(s.channel.kind == EMG for s in rec.signals),
        "Manufacturer": maker,
        "ManufacturersModelName": model,
    }
    posture = rec.meta.last("posture") or device.get("posture")
    if posture:
        doc["Instructions"] = f"Posture: {posture}"
    doc["bbfeedback"] = processing(rec, result)
    return doc


def processing(rec: Recording, result: dict) -> dict:
    """How bbfeedback processes the raw samples (not applied to the stored data): per
    channel the filters, envelope, calibration and detector thresholds analysis used, and
    the session's settings, calibration and device as recorded."""
    config = PipelineConfig()
    channels = {}
    for ch in result["channels"]:
        entry = {"kind": ch["kind"], "unit": ch["unit"], "sampling_frequency_hz": ch["fs_hz"]}
        if ch["kind"] == EMG:
            entry.update({
                "notch_hz": ch["notch_hz"], "notch_q": 30.0,
                "band_pass_hz": [config.band_low_hz, min(config.band_high_hz,
                                                         0.45 * ch["fs_hz"])],
                "band_pass": "Butterworth, order 4, causal (second-order sections)",
                "rms_envelope_window_s": ch["window_s"],
            })
        elif ch["kind"] == PRESSURE:
            entry.update({"low_pass_hz": config.pressure_lowpass_hz,
                          "low_pass": "Butterworth, order 2, causal",
                          "zero_from_first_s": config.pressure_zero_s})
        entry.update({k: ch[k] for k in ("baseline", "baseline_sd", "mvc", "calibration",
                                         "on_threshold", "off_threshold")})
        channels[ch["name"]] = entry
    return finite({
        "version": __version__,
        "channels": channels,
        "detector": result["settings"]["detector"],
        "mains": result["settings"]["mains"],
        "recorded": {
            "settings": rec.meta.settings,
            "calibration": rec.meta.last("calibration"),
            "device": _without_port(rec.meta.last("device")),
        },
        "protocol": _without_source(result.get("protocol")),
        "summary": result.get("summary"),
    })


def _without_source(protocol: object) -> object:
    """The scored protocol without ``source``: it names the original file, whose path may
    name the patient."""
    if not isinstance(protocol, dict):
        return protocol
    return {k: v for k, v in protocol.items() if k != "source"}


def _without_port(device: object) -> object:
    """The recorded device without its port: a serial number names a device, not data."""
    if not isinstance(device, dict):
        return device
    return {k: v for k, v in device.items() if k != "port"}


CHANNEL_COLUMNS = ["name", "type", "units", "description", "sampling_frequency",
                   "target_muscle", "low_cutoff", "high_cutoff", "notch", "status",
                   "status_description"]
CHANNEL_TYPE = {EMG: "EMG", PRESSURE: "MISC", OTHER: "MISC"}
DESCRIPTION = {EMG: "EMG", PRESSURE: "squeeze pressure (pelvic-floor probe)",
               OTHER: "other signal"}


def channel_rows(rec: Recording, result: dict, header: dict[str, dict]) -> list[dict]:
    """One row per signal, in file order, with the file's own units. Cut-offs and notch are
    n/a unless the header's prefiltering says so: the stored samples are not filtered."""
    settings = rec.meta.settings
    roles = {settings.get("main"): "main", settings.get("accessory"): "accessory"}
    rows = []
    for sig in rec.signals:
        h = header.get(sig.channel.name, {})
        hp, lp, notch = _prefilter(h.get("prefilter", ""))
        role = roles.get(sig.channel.name)
        flat = _flat(sig)
        rows.append({
            "name": sig.channel.name,
            "type": CHANNEL_TYPE[sig.channel.kind],
            "units": h.get("unit") or sig.channel.unit or "n/a",
            "description": h.get("transducer") or DESCRIPTION[sig.channel.kind],
            "sampling_frequency": sig.fs_hz,
            "target_muscle": TARGET_MUSCLE[role] if role and sig.channel.kind == EMG else None,
            "low_cutoff": hp, "high_cutoff": lp, "notch": notch,
            "status": "bad" if flat else "good",
            "status_description": "flat: every sample the same (no signal)" if flat else None,
        })
    return rows


def _flat(sig: object, chunk: int = 1 << 20) -> bool:
    """Every sample the same (a channel without signal); read a stretch at a time."""
    lo, hi = math.inf, -math.inf
    for a in range(0, sig.data.size, chunk):
        x = np.asarray(sig.data[a:a + chunk], dtype=float)
        lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
        if hi > lo:
            return False
    return True


def _prefilter(text: str) -> tuple[float | None, float | None, str | None]:
    """(high-pass, low-pass, notch) in Hz from an EDF prefiltering field ("HP:0.1Hz LP:75Hz
    N:50Hz"); None where it says nothing."""
    found = {}
    for key, value in re.findall(r"\b(HP|LP|N):\s*([0-9.]+)\s*Hz", text, re.I):
        try:
            found.setdefault(key.upper(), float(value))
        except ValueError:
            continue
    notch = found.get("N")
    return found.get("HP"), found.get("LP"), None if notch is None else _num(notch)


def event_rows(rec: Recording, result: dict) -> list[dict]:
    """Cues (each lasting until the next), recorded gaps, detected contractions and scored
    repetitions, sorted by onset."""
    rows: list[dict] = []
    cues = sorted(rec.meta.cues, key=lambda c: c.onset_s)
    ends = [c.onset_s for c in cues[1:]] + [rec.duration_s] if cues else []
    for cue, end in zip(cues, ends, strict=True):
        rows.append({"onset": cue.onset_s, "duration": max(0.0, end - cue.onset_s),
                     "trial_type": "calibration_cue" if cue.calibration else "cue",
                     "value": f"{cue.kind}:{cue.cue}", "rep": cue.rep})
    fs = _main_rate(rec)
    for gap in rec.meta.all("gap"):
        rows.append({"onset": gap["t_s"], "duration": gap["lost_samples"] / fs if fs else None,
                     "trial_type": "gap", "value": "samples lost, filled by the recorder"})
    for c in result["contractions"]:
        rows.append({"onset": c["onset_s"], "duration": c["offset_s"] - c["onset_s"],
                     "trial_type": "contraction", "channel": c["channel"],
                     "sample": c.get("onset_sample"),
                     **{k: c.get(k) for k in ("peak", "mean", "unit", "peak_pct_mvc",
                                              "mean_pct_mvc", "rise_s", "release_s")}})
    for r in result.get("reps") or []:
        onset = r["cue_s"] if r.get("cue_s") is not None else r.get("onset_s")
        end = r.get("offset_s")
        rows.append({
            "onset": onset,
            "duration": None if onset is None or end is None else max(0.0, end - onset),
            "trial_type": "repetition", "value": "met" if r["met"] else "not_met",
            "rep": r["index"], "met": r["met"], "flags": ",".join(r.get("flags") or []),
            **{k: r.get(k) for k in ("hold_s", "target_hold_s", "peak", "mean", "unit",
                                     "peak_pct_mvc", "mean_pct_mvc", "rise_s", "release_s",
                                     "rest_residual_pct", "section")}})
    order = {"calibration_cue": 0, "cue": 0, "gap": 1, "repetition": 2, "contraction": 3}
    rows.sort(key=lambda r: (r["onset"] is None, r["onset"] or 0.0, order[r["trial_type"]]))
    return rows


EVENTS_JSON = {
    "onset": {"Description": "When the event began, from the start of the data file",
              "Units": "s"},
    "duration": {"Description": "Cue: until the next cue (the phase it starts); gap: lost "
                                "time; contraction: onset to offset; repetition: its cue to "
                                "the end of its contraction", "Units": "s"},
    "trial_type": {"Description": "What the event is", "Levels": {
        "calibration_cue": "A cue of the calibration before the exercise",
        "cue": "A cue of the exercise protocol",
        "gap": "Samples lost by the device; the recorder filled them to keep the clock",
        "contraction": "A contraction bbfeedback detected on one channel",
        "repetition": "A repetition of the protocol, scored by bbfeedback"}},
    "value": {"Description": "Cue: phase kind and cue name (kind:cue); repetition: met or "
                             "not_met"},
    "channel": {"Description": "Contraction: the channel it was detected on"},
    "sample": {"Description": "Contraction: sample index of its onset, from 0"},
    "rep": {"Description": "The repetition (from 1) a cue or score belongs to"},
    "met": {"Description": "Repetition: whether it met its target",
            "Levels": {"True": "met", "False": "not met"}},
    "hold_s": {"Description": "Repetition: how long the contraction was held at target",
               "Units": "s"},
    "target_hold_s": {"Description": "Repetition: the hold the protocol asked for",
                      "Units": "s"},
    "peak": {"Description": "Highest envelope level (unit in the unit column)"},
    "mean": {"Description": "Mean envelope level (unit in the unit column)"},
    "unit": {"Description": "Unit of peak and mean (uV: EMG RMS envelope; cmH2O: pressure)"},
    "peak_pct_mvc": {"Description": "Peak as a percentage of the calibrated MVC above rest",
                     "Units": "%"},
    "mean_pct_mvc": {"Description": "Mean as a percentage of the calibrated MVC above rest",
                     "Units": "%"},
    "rise_s": {"Description": "Time from onset (or cue) to the plateau", "Units": "s"},
    "release_s": {"Description": "Time to relax back to rest", "Units": "s"},
    "rest_residual_pct": {"Description": "Repetition: activity left in the following rest, "
                                         "percentage of MVC", "Units": "%"},
    "flags": {"Description": "Repetition: comma-separated findings (for example late_onset, "
                             "slow_release, co_contraction, signal_gap)"},
    "section": {"Description": "Repetition: the protocol section it belongs to"},
}


def events_sidecar(rec: Recording) -> dict:
    """The columns of events.tsv; with cues, bbfeedback presented them."""
    doc = dict(EVENTS_JSON)
    if rec.meta.cues:
        doc["StimulusPresentation"] = {"SoftwareName": "bbfeedback"}
    return doc


def _num(value: object) -> str:
    """A TSV cell: n/a for nothing (or NaN), True/False, numbers rounded to 6 decimals."""
    if value is None or value == "":
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return re.sub(r"[\t\r\n]", " ", str(value))


def _write_tsv(path: Path, columns: list[str], rows: list[dict]) -> None:
    lines = ["\t".join(columns)] + ["\t".join(_num(r.get(c)) for c in columns) for r in rows]
    write_private(path, "\n".join(lines) + "\n")


def _write_json(path: Path, doc: dict) -> None:
    write_private(path, json.dumps(finite(doc), indent=2, ensure_ascii=False,
                                   allow_nan=False) + "\n")
