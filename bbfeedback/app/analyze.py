"""Offline analysis: a recording through the very streaming pipeline and detector used live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from bbfeedback.detect.calibration import Calibration, estimate_from_recording
from bbfeedback.detect.contractions import Contraction, ContractionDetector, DetectorConfig
from bbfeedback.errors import InputError
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.exercise.session import Gap, Session, pick_channels
from bbfeedback.recording import Recording
from bbfeedback.signal.blocks import EMG, Block, split_blocks
from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, resolve_notch

DEFAULT_WINDOW_S = 0.15
BLOCK_S = 10.0  # offline block length: bounds memory; results do not depend on it
MAINS_PROBE_S = 20.0  # seconds of signal inspected for hum


@dataclass
class AnalysisOptions:
    mains: str = "auto"  # auto | 50 | 60 | off
    window_s: float | None = None  # None: as recorded, else 0.15 s
    channels: list[str] | None = None
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # bbfeedback:* annotations of the recording


@dataclass
class ChannelResult:
    """What analysis learnt about one channel."""

    block: Block
    pipeline: Pipeline
    envelope: np.ndarray | None  # (samples, channels); None until needed
    calibrations: list[Calibration]
    detector: ContractionDetector


def stream(block: Block, block_s: float = BLOCK_S) -> Iterator[Block]:
    """A whole-recording block as the consecutive blocks a device would deliver."""
    yield from split_blocks(block, max(1, int(round(block_s * block.fs_hz))))


def envelope_of(block: Block, pipeline: Pipeline) -> np.ndarray:
    return np.concatenate([pipeline.process(b).data for b in stream(block)], axis=0)


def select(recording: Recording, names: list[str] | None) -> list:
    usable = recording.usable()
    if names is None:
        if not usable:
            raise InputError("no EMG or pressure signal in the file", recording.path)
        return usable
    by_name = {s.channel.name: s for s in recording.signals}
    chosen = []
    for name in names:
        if name not in by_name:
            raise InputError(f"no channel named {name!r}", recording.path)
        if by_name[name].channel.kind not in (EMG, "pressure"):
            raise InputError(
                f"channel {name!r} has unit {by_name[name].channel.unit!r}, neither EMG nor "
                "pressure (say its kind with --kind NAME=emg|pressure)", recording.path)
        chosen.append(by_name[name])
    return chosen


def process_group(block: Block, options: AnalysisOptions, where: object = None) -> ChannelResult:
    """Filters, envelope, calibration and detection for one same-rate group of channels."""
    probe = block.data[: int(MAINS_PROBE_S * block.fs_hz)]
    emg_cols = [k for k, c in enumerate(block.channels) if c.kind == EMG]
    notch: list[float] = []
    for k in emg_cols:
        notch = sorted(set(notch) | set(resolve_notch(options.mains, probe[:, k], block.fs_hz)))
    settings = recorded(options.meta, "settings")
    if options.mains == "auto" and "notch_hz" in settings:
        notch = [float(f) for f in settings["notch_hz"]]  # re-score as it was recorded
    window_s = options.window_s or settings.get("window_s") or DEFAULT_WINDOW_S
    config = PipelineConfig(notch_hz=notch, window_s=window_s)
    try:
        pipeline = Pipeline(block.channels, block.fs_hz, config)
    except ValueError as exc:
        names = ", ".join(c.name for c in block.channels)
        raise InputError(f"channel {names}: {exc}", where) from None
    known = all(ch.name in options.calibrations for ch in pipeline.channels)
    envelope = None if known else envelope_of(block, pipeline)  # only to self-calibrate
    cals = [
        options.calibrations.get(ch.name)
        or estimate_from_recording(
            envelope[int(pipeline.chain_of(k).settle_s * block.fs_hz):, k], block.fs_hz, ch.unit)
        for k, ch in enumerate(pipeline.channels)
    ]
    detector = ContractionDetector(pipeline, cals, options.detector)
    return ChannelResult(block, pipeline, envelope, cals, detector)


def detect(result: ChannelResult) -> list[Contraction]:
    if result.envelope is None:
        result.pipeline.reset()
        result.envelope = envelope_of(result.block, result.pipeline)
    env_block = result.block.with_data(result.envelope, result.pipeline.channels)
    events: list[Contraction] = []
    for b in stream(env_block):
        events += result.detector.process(b)
    return events + result.detector.flush()


def recorded(meta: dict, key: str) -> dict:
    return meta.get(key) or {}


def _bbfeedback_annotations(recording: Recording) -> Iterator[tuple[str, object]]:
    """(key, value) of every ``bbfeedback:<key> <json>`` annotation, in file order."""
    for a in recording.annotations:
        if a.text.startswith("bbfeedback:"):
            key, _, body = a.text[len("bbfeedback:"):].partition(" ")
            try:
                yield key, json.loads(body) if body else {}
            except json.JSONDecodeError:
                raise InputError(f"annotation bbfeedback:{key} is not valid JSON",
                                 recording.path) from None


def read_meta(recording: Recording) -> dict:
    """The session-wide annotations (settings, calibration, device ...): the last of each."""
    return dict(_bbfeedback_annotations(recording))


def recorded_all(recording: Recording, key: str) -> list:
    """Every annotation of one kind (``gap``, ``rep``, ``contraction``), in file order."""
    return [value for k, value in _bbfeedback_annotations(recording) if k == key]


def recorded_calibrations(meta: dict) -> dict[str, Calibration]:
    fields = ("baseline_mean", "baseline_sd", "mvc", "unit", "source")
    return {name: Calibration(**{k: v for k, v in cal.items() if k in fields})
            for name, cal in recorded(meta, "calibration").items()}


def run_groups(recording: Recording, options: AnalysisOptions, detect_events: bool = True
               ) -> tuple[list[ChannelResult], list[Contraction]]:
    """Every same-rate group through pipeline, calibration and (unless told not to: a
    session engine will) the detector."""
    options.meta = options.meta or read_meta(recording)
    options.calibrations = {**recorded_calibrations(options.meta), **options.calibrations}
    chosen = select(recording, options.channels)
    results, events = [], []
    for block in recording.blocks(chosen):
        result = process_group(block, options, recording.path)
        if detect_events:
            events += detect(result)
        results.append(result)
    events.sort(key=lambda e: (e.onset_s, e.channel))
    return results, events


def _channel_info(result: ChannelResult) -> list[dict]:
    out = []
    for k, ch in enumerate(result.pipeline.channels):
        det = result.detector.channels[k]
        cal = result.calibrations[k]
        out.append({
            "name": ch.name, "kind": ch.kind, "unit": ch.unit, "fs_hz": result.block.fs_hz,
            "notch_hz": result.pipeline.config.notch_hz if ch.kind == EMG else [],
            "window_s": result.pipeline.config.window_s if ch.kind == EMG else None,
            "baseline": round(cal.baseline_mean, 4),
            "baseline_sd": round(cal.baseline_sd, 4),
            "mvc": None if cal.mvc is None else round(cal.mvc, 4),
            "calibration": cal.source,
            "on_threshold": round(det.on, 4), "off_threshold": round(det.off, 4),
        })
    return out


def analyze(recording: Recording, options: AnalysisOptions | None = None,
            protocol: Protocol | None = None, start_s: float | None = None,
            main: str | None = None, accessory: str | None = None) -> dict:
    """Channels, calibration and contractions of a recording, as a JSON-ready dict; with a
    protocol also its repetitions scored by the session engine."""
    options = options or AnalysisOptions()
    results, events = run_groups(recording, options, detect_events=protocol is None)
    scored = {}
    if protocol is not None:  # the session engine detects in its group; others on their own
        scored, session_events, group = score_protocol(recording, results, protocol, options,
                                                       start_s, main, accessory)
        events = session_events + [e for r in results if r is not group for e in detect(r)]
        events.sort(key=lambda e: (e.onset_s, e.channel))
    doc = {
        "file": recording.path,
        "duration_s": round(recording.duration_s, 3),
        "channels": [c for r in results for c in _channel_info(r)],
        "settings": {"mains": options.mains, "detector": vars(options.detector)},
        "contractions": [e.to_dict() for e in events],
    }
    doc.update(scored)
    return doc


def _alignment(recording: Recording, result: ChannelResult, main_name: str,
               start_s: float | None) -> tuple[float, str]:
    if start_s is not None:
        return start_s, "--start-s"
    cues = [a.onset_s for a in recording.annotations if a.text.startswith("cue:work")]
    if cues:
        return min(cues), "cue annotations"
    mine = [e.onset_s for e in detect(result) if e.channel == main_name]
    if not mine:
        raise InputError("no cue annotations and no contraction to align the protocol to "
                         "(give --start-s)", recording.path)
    return mine[0], "first contraction"


def make_session(recording: Recording, result: ChannelResult, protocol: Protocol,
                 options: AnalysisOptions, start_s: float | None, main: str | None,
                 accessory: str | None) -> tuple[Session, str]:
    """A session engine set up as the recording was: calibration, settings, alignment, and
    the gaps the recorder noted."""
    channels = result.pipeline.channels
    m, _ = pick_channels(channels, main, accessory)
    start, how = _alignment(recording, result, channels[m].name, start_s)
    cals = {ch.name: cal for ch, cal in zip(channels, result.calibrations, strict=True)}
    try:
        session = Session(protocol, channels, result.block.fs_hz, cals,
                          pipeline_config=result.pipeline.config,
                          detector_config=options.detector, start_s=start,
                          main=main, accessory=accessory)
    except ValueError as exc:
        raise InputError(str(exc), recording.path) from None
    for gap in recorded_all(recording, "gap"):  # samples the device lost, as noted
        session.gaps.append(Gap(float(gap["t_s"]), int(gap["lost_samples"])))
    return session, how


def group_of(results: list[ChannelResult], main: str | None, accessory: str | None,
             path: str) -> ChannelResult:
    """The same-rate group that holds the scored channel."""
    for result in results:
        try:
            pick_channels(result.pipeline.channels, main, accessory)
        except ValueError:
            continue
        return result
    raise InputError(f"no channel named {main!r}", path)


def score_protocol(recording: Recording, results: list[ChannelResult], protocol: Protocol,
                   options: AnalysisOptions, start_s: float | None, main: str | None,
                   accessory: str | None) -> tuple[dict, list[Contraction], ChannelResult]:
    """Run the session engine over the group holding the scored channel: its scores, the
    contractions its detector found, and the group."""
    result = group_of(results, main, accessory, recording.path)
    session, how = make_session(recording, result, protocol, options, start_s, main,
                                accessory)
    for b in stream(result.block):
        session.process(b)
    session.finish()
    scored = session.result()
    scored["protocol"]["alignment"] = how
    scored["protocol"]["start_s"] = round(session.start_s, 4)
    return scored, session.contractions, result
