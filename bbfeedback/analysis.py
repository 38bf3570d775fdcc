"""Offline analysis: a recording through the very streaming pipeline and detector used live."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .calibration import Calibration, estimate_from_recording
from .contractions import Contraction, ContractionDetector, DetectorConfig
from .errors import InputError
from .pipeline import Pipeline, PipelineConfig, resolve_notch
from .recording import Recording
from .signals import EMG, Block, split_blocks

BLOCK_S = 10.0  # offline block length: bounds memory; results do not depend on it
MAINS_PROBE_S = 20.0  # seconds of signal inspected for hum


@dataclass
class AnalysisOptions:
    mains: str = "auto"  # auto | 50 | 60 | off
    window_s: float = 0.15
    channels: list[str] | None = None
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    calibrations: dict[str, Calibration] = field(default_factory=dict)


@dataclass
class ChannelResult:
    """What analysis learnt about one channel."""

    block: Block
    pipeline: Pipeline
    envelope: np.ndarray  # (samples, channels) of this rate group
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
    config = PipelineConfig(notch_hz=notch, window_s=options.window_s)
    try:
        pipeline = Pipeline(block.channels, block.fs_hz, config)
    except ValueError as exc:
        names = ", ".join(c.name for c in block.channels)
        raise InputError(f"channel {names}: {exc}", where) from None
    envelope = envelope_of(block, pipeline)
    cals = [
        options.calibrations.get(ch.name)
        or estimate_from_recording(
            envelope[int(pipeline.chain_of(k).settle_s * block.fs_hz):, k], block.fs_hz, ch.unit)
        for k, ch in enumerate(pipeline.channels)
    ]
    detector = ContractionDetector(pipeline, cals, options.detector)
    return ChannelResult(block, pipeline, envelope, cals, detector)


def detect(result: ChannelResult) -> list[Contraction]:
    env_block = result.block.with_data(result.envelope, result.pipeline.channels)
    events: list[Contraction] = []
    for b in stream(env_block):
        events += result.detector.process(b)
    return events + result.detector.flush()


def analyze(recording: Recording, options: AnalysisOptions | None = None) -> dict:
    """Channels, calibration and contractions of a recording, as a JSON-ready dict."""
    options = options or AnalysisOptions()
    chosen = select(recording, options.channels)
    channels, events = [], []
    for block in recording.blocks(chosen):
        result = process_group(block, options, recording.path)
        events += detect(result)
        for k, ch in enumerate(result.pipeline.channels):
            det = result.detector.channels[k]
            cal = result.calibrations[k]
            channels.append({
                "name": ch.name, "kind": ch.kind, "unit": ch.unit, "fs_hz": block.fs_hz,
                "notch_hz": result.pipeline.config.notch_hz if ch.kind == EMG else [],
                "baseline": round(cal.baseline_mean, 4),
                "baseline_sd": round(cal.baseline_sd, 4),
                "mvc": None if cal.mvc is None else round(cal.mvc, 4),
                "calibration": cal.source,
                "on_threshold": round(det.on, 4), "off_threshold": round(det.off, 4),
            })
    events.sort(key=lambda e: (e.onset_s, e.channel))
    return {
        "file": recording.path,
        "duration_s": round(recording.duration_s, 3),
        "channels": channels,
        "settings": {"mains": options.mains, "window_s": options.window_s,
                     "detector": vars(options.detector)},
        "contractions": [e.to_dict() for e in events],
    }
