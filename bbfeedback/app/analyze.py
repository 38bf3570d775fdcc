"""Offline analysis: a recording through the very streaming pipeline and detector used live,
and, with a protocol, through the session engine set up as the recording was made.

What this module leaves to others: which protocol, calibration and filters a recording is
scored again with (``rescore_setup``), where its repetitions are placed when its cues are
missing or off (``alignment``), and what the re-scored result then says (``rescoring``).
The session set-up that joins them (``session_for``, ``Rescoring``) stays here: it runs this
chain (``run_groups``, ``detect``) and ``analyze`` runs it, so elsewhere it would import this
module back."""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bbfeedback.app.alignment import anchored_until, find_alignment
from bbfeedback.app.rescore_setup import (
    recorded_calibrations,
    recorded_filters,
    recorded_if_same_filters,
    recorded_protocol_itself,
)
from bbfeedback.app.rescoring import rescored
from bbfeedback.app.run import BlockList, run
from bbfeedback.detect.calibration import Calibration, CalibrationEstimate
from bbfeedback.detect.contractions import Contraction, ContractionDetector, DetectorConfig
from bbfeedback.errors import InputError
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.session import Session, pick_channels
from bbfeedback.exercise.signal_quality import BURST_MAX_S, BURST_PCT_MVC, SignalQuality
from bbfeedback.recording import Recording, SignalGroup, log
from bbfeedback.signal.blocks import EMG, Block, SampleGuard, split_blocks
from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, Stages, resolve_notch

DEFAULT_WINDOW_S = 0.15
BLOCK_S = 10.0  # offline block length: bounds memory (the file is read a block at a time);
# results do not depend on it
MAINS_PROBE_S = 20.0  # seconds of signal inspected for hum


@dataclass
class AnalysisOptions:
    """How a file is analysed (the ``analyze`` command's options); ``settings`` and
    ``recorded`` are filled from the recording by ``run_groups``."""

    mains: str = "auto"  # auto | 50 | 60 | off
    window_s: float | None = None  # None: as recorded, else 0.15 s
    channels: list[str] | None = None
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # as recorded (bbfeedback:settings)
    recorded: dict[str, Calibration] = field(default_factory=dict)  # valid with its filters


@dataclass
class ChannelResult:
    """What analysis learnt about one same-rate group of channels (whose samples stay in
    the file: ``group`` reads them a block at a time)."""

    group: SignalGroup
    pipeline: Pipeline
    calibrations: list[Calibration]
    detector: ContractionDetector
    spill: EnvelopeSpill | None = None  # the envelope, kept on disk by self-calibration
    quality: SignalQuality | None = None  # its artefact marks, once the raw was read

    @property
    def fs_hz(self) -> float:
        return self.group.fs_hz


class EnvelopeSpill:
    """A group's envelope, and the band-passed signal beside it (the detector refines
    onsets on it), in an unnamed temporary file: self-calibration needs the whole envelope
    before detection can start, and reading it back costs less than filtering the file
    again, while memory stays one block."""

    def __init__(self, n_channels: int):
        self.n_channels = n_channels
        try:
            self._file = tempfile.TemporaryFile()
        except OSError as exc:
            raise InputError(f"cannot make a temporary file in {tempfile.gettempdir()} "
                             f"({exc.strerror or exc}; set TMPDIR)") from None
        self._starts: list[tuple[int, int]] = []  # (start_sample, samples) of each block
        # closed when the spill is dropped too: a re-scoring or a replay holds it as long as
        # it may detect, and no owner has to remember (an open file left to the garbage
        # collector is a ResourceWarning, and a descriptor held longer than needed)
        self._closer = weakref.finalize(self, self._file.close)

    def add(self, env: Block, filtered: np.ndarray) -> None:
        try:
            np.ascontiguousarray(np.hstack([env.data, filtered]), dtype=float
                                 ).tofile(self._file)
        except OSError as exc:
            raise InputError(f"no room for the envelope's temporary file in "
                             f"{tempfile.gettempdir()} ({exc.strerror or exc}; it needs 16 "
                             "bytes a sample a channel: set TMPDIR to a larger folder)"
                             ) from None
        self._starts.append((env.start_sample, env.n_samples))

    def blocks(self, like: Block) -> Iterator[tuple[Block, np.ndarray]]:
        """The envelope blocks as written, each with its band-passed signal (``like``:
        fs_hz and channels to give them)."""
        self._file.flush()
        self._file.seek(0)
        k = self.n_channels
        for start, n in self._starts:
            data = np.fromfile(self._file, dtype=float, count=n * 2 * k).reshape(n, 2 * k)
            yield Block(data[:, :k], like.fs_hz, like.channels, start), data[:, k:]

    def close(self) -> None:
        self._closer()


def stream(block: Block, block_s: float = BLOCK_S) -> Iterator[Block]:
    """A whole-recording block as the consecutive blocks a device would deliver."""
    yield from split_blocks(block, max(1, int(round(block_s * block.fs_hz))))


def envelopes(group: SignalGroup, pipeline: Pipeline,
              quality: SignalQuality | None = None) -> Iterator[Stages]:
    """The group's envelope and band-passed signal, a block at a time, from a fresh start
    of the pipeline; samples that are not usable numbers are held as live sessions hold them
    (``SampleGuard``).
    ``quality``: checked on the way, as a live session checks its raw blocks."""
    pipeline.reset()
    guard = SampleGuard()
    for b in group.blocks(max(1, int(round(BLOCK_S * group.fs_hz)))):
        raw = guard.check(b)
        stages = pipeline.step(raw)
        if quality is not None:
            quality.check(raw)
        yield stages
    if guard.replaced:
        log.warning("%s: %d samples were not usable numbers (not a number, infinite or "
                    "out of range) and were held at the last good value", group.path,
                    guard.replaced)


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


def process_group(group: SignalGroup, options: AnalysisOptions, where: object = None
                  ) -> ChannelResult:
    """Filters, envelope, calibration and detection for one same-rate group of channels."""
    probe = SampleGuard().check(
        Block(group.read(0, int(MAINS_PROBE_S * group.fs_hz)), group.fs_hz, group.channels)).data
    emg_cols = [k for k, c in enumerate(group.channels) if c.kind == EMG]
    notch: list[float] = []
    for k in emg_cols:
        notch = sorted(set(notch) | set(resolve_notch(options.mains, probe[:, k], group.fs_hz)))
    recorded_notch, recorded_window = recorded_filters(options.settings, group.fs_hz, where)
    if options.mains == "auto" and recorded_notch is not None:
        notch = recorded_notch  # re-score as it was recorded
    window_s = options.window_s or recorded_window or DEFAULT_WINDOW_S
    config = PipelineConfig(notch_hz=notch, window_s=window_s)
    try:
        pipeline = Pipeline(group.channels, group.fs_hz, config)
    except ValueError as exc:
        names = ", ".join(c.name for c in group.channels)
        raise InputError(f"channel {names}: {exc}", where) from None
    known = {**recorded_if_same_filters(options.recorded, recorded_notch, recorded_window,
                                        config, where), **options.calibrations}
    cals = [known.get(ch.name) for ch in pipeline.channels]
    spill = quality = None
    if None in cals:
        spill = EnvelopeSpill(len(pipeline.channels))
        quality = SignalQuality.for_pipeline(pipeline, group.ranges)
        cals = _self_calibrated(group, pipeline, cals, spill, quality)
    detector = ContractionDetector(pipeline, cals, options.detector)
    return ChannelResult(group, pipeline, cals, detector, spill, quality)


def _self_calibrated(group: SignalGroup, pipeline: Pipeline, cals: list[Calibration | None],
                     spill: EnvelopeSpill, quality: SignalQuality) -> list[Calibration]:
    """The given calibrations, the missing ones estimated from the whole recording's
    envelope (after the filters settle), streamed: memory does not grow with its length.
    Marked artefacts (``signal_quality``) feed no estimate."""
    estimates = {k: CalibrationEstimate(group.fs_hz, ch.unit)
                 for k, ch in enumerate(pipeline.channels) if cals[k] is None}
    settle = {k: int(pipeline.chain_of(k).settle_s * group.fs_hz) for k in estimates}
    for stages in envelopes(group, pipeline, quality):
        env = stages.envelope
        spill.add(env, stages.band)
        for k, est in estimates.items():
            skip = max(0, settle[k] - env.start_sample)
            if skip < env.n_samples:
                est.add(env.data[skip:, k], env.start_sample + skip)
    quality.finish()
    out = []
    for k, c in enumerate(cals):
        if c is None:
            c = estimates[k].result([(m.start_s, m.end_s) for m in quality.marks_of(k)],
                                    pipeline.delay_s(k))
        out.append(c)
    return out


def detect(result: ChannelResult) -> list[Contraction]:
    """The group's contractions: its envelope (as spilled by self-calibration, else the
    file streamed through the pipeline) through a fresh detector (``result.detector``'s
    thresholds). The first pass over the file marks its artefacts too (``result.quality``)."""
    detector = ContractionDetector(result.pipeline, result.calibrations,
                                   result.detector.config)
    like = Block(np.zeros((0, len(result.pipeline.channels))), result.fs_hz,
                 result.pipeline.channels)
    quality = None
    if result.quality is None and result.spill is None:
        quality = SignalQuality.for_pipeline(result.pipeline, result.group.ranges)
    source = (result.spill.blocks(like) if result.spill is not None
              else ((s.envelope, s.band)
                    for s in envelopes(result.group, result.pipeline, quality)))
    bursts = _BurstWatch(result, quality or result.quality)
    events: list[Contraction] = []
    for env, filtered in source:  # onsets refined on the band-passed signal, as live
        events += detector.process(env, filtered)
        bursts.add(env)
    if quality is not None:
        quality.finish()
        result.quality = quality
    return events + detector.flush()


class _BurstWatch:
    """Cable bursts in a group's envelope as it streams (``SignalQuality.mark_bursts``: EMG
    above ``BURST_PCT_MVC`` % MVC for under ``BURST_MAX_S``), as a session marks them when
    it scores; the last stretch of each block is kept so that a burst across two is seen."""

    def __init__(self, result: ChannelResult, quality: SignalQuality | None):
        self.quality, self.fs_hz = quality, result.fs_hz
        self.cols = [k for k, (ch, cal) in enumerate(zip(result.pipeline.channels,
                                                         result.calibrations, strict=True))
                     if ch.kind == EMG and cal.mvc is not None] if quality is not None else []
        self.levels = {k: result.calibrations[k].level(BURST_PCT_MVC) for k in self.cols}
        self.delays = {k: result.pipeline.delay_s(k) for k in self.cols}
        self.keep = int(np.ceil(1.5 * BURST_MAX_S * self.fs_hz))
        self.tail: dict[int, np.ndarray] = {k: np.zeros(0) for k in self.cols}
        self.tail_start = 0

    def add(self, env: Block) -> None:
        if not self.cols or not env.n_samples:
            return
        start = env.start_sample - self.tail[self.cols[0]].size
        if start != self.tail_start:  # a jump of the clock: start afresh
            self.tail = {k: np.zeros(0) for k in self.cols}
            start = env.start_sample
        for k in self.cols:
            values = np.concatenate([self.tail[k], env.data[:, k]])
            self.quality.mark_bursts(k, values, start / self.fs_hz - self.delays[k],
                                     self.fs_hz, self.levels[k])
            self.tail[k] = values[-self.keep:]
        self.tail_start = env.end_sample - self.tail[self.cols[0]].size


def tag_artefacts(events: list[dict], marks: dict[str, list], mvcs: dict[str, float | None]
                  ) -> list[dict]:
    """The contractions as the document gives them: one that overlaps a marked artefact of
    its channel, or a burst (EMG above ``BURST_PCT_MVC`` % MVC for less than
    ``BURST_MAX_S``), says so (``artefact``: the kinds) and has no % MVC: an artefact is
    never a peak of the patient's."""
    out = []
    for e in events:
        kinds = [m.kind.value for m in marks.get(e["channel"], ())
                 if m.start_s < e["offset_s"] and m.end_s > e["onset_s"]]
        if (e["unit"] == "uV" and mvcs.get(e["channel"]) is not None
                and e["offset_s"] - e["onset_s"] < BURST_MAX_S
                and (e.get("peak_pct_mvc") or 0) >= BURST_PCT_MVC and "burst" not in kinds):
            kinds.append("burst")
        if kinds:
            e = {**e, "artefact": list(dict.fromkeys(kinds)), "peak_pct_mvc": None,
                 "mean_pct_mvc": None}
        out.append(e)
    return out


def file_blocks(group: SignalGroup, recording: Recording, block_s: float = BLOCK_S
                ) -> Iterator[Block]:
    """A recording's samples as the blocks its device delivered, read from the file a block
    at a time: the recorder's fill of each noted gap is cut out and the gap put back as a
    jump of the sample clock."""
    fs, n = group.fs_hz, group.n_samples
    cuts = []
    for g in recording.meta.all("gap"):
        cut = _gap_in_file(g, fs, n)
        if cut is None:
            recording.warn(f"gap annotation {g!r:.80} does not fit the signal; ignored")
            continue
        cuts.append(cut)
    size = max(1, int(round(block_s * fs)))
    pos = 0
    for start, lost in sorted(cuts) + [(n, 0)]:
        start = min(max(start, pos), n)
        if start > pos:
            yield from group.blocks(size, pos, start)
        pos = start + lost


def _gap_in_file(g: dict, fs_hz: float, n: int) -> tuple[int, int] | None:
    """(first filled sample, lost samples) of a recorded gap (checked by ``schemas.Gap``),
    if its fill lies in the file."""
    lost = g["lost_samples"]
    at = int(round(g["t_s"] * fs_hz))
    return (at, lost) if at + lost <= n else None


def run_groups(recording: Recording, options: AnalysisOptions, detect_events: bool = True
               ) -> tuple[list[ChannelResult], list[Contraction]]:
    """Every same-rate group through pipeline, calibration and (unless told not to: a
    session engine will) the detector."""
    options.settings = options.settings or recording.meta.settings
    options.recorded = recorded_calibrations(recording)
    chosen = select(recording, options.channels)
    results, events = [], []
    for group in recording.groups(chosen):
        result = process_group(group, options, recording.path)
        if detect_events:
            events += detect(result)
        results.append(result)
    events.sort(key=lambda e: (e.onset_s, e.channel))
    return results, events


def _channel_info(result: ChannelResult) -> list[dict]:
    """What the document says of each channel: filters, calibration and thresholds, so that
    a reader can tell what its contractions were measured against."""
    out = []
    for k, ch in enumerate(result.pipeline.channels):
        det = result.detector.channels[k]
        cal = result.calibrations[k]
        out.append({
            "name": ch.name, "kind": ch.kind, "unit": ch.unit, "fs_hz": result.fs_hz,
            "notch_hz": result.pipeline.config.notch_hz if ch.kind == EMG else [],
            "window_s": result.pipeline.config.window_s if ch.kind == EMG else None,
            "baseline": round(cal.baseline_mean, 4),
            "baseline_sd": round(cal.baseline_sd, 4),
            "mvc": None if cal.mvc is None else round(cal.mvc, 4),
            "calibration": cal.source,
            "on_threshold": round(det.on, 4), "off_threshold": round(det.off, 4),
        })
    return out


@dataclass(frozen=True)
class Analysis:
    """What ``analyze`` found in a recording: its channels (name, rate, calibration and
    detector levels), every contraction (artefacts tagged), and with a protocol the session it
    scored. ``channels`` and ``contractions`` keep their JSON rows (``_channel_info``,
    ``Contraction.to_dict`` + ``tag_artefacts``)."""

    file: str
    duration_s: float
    channels: tuple[dict, ...]
    settings: dict
    contractions: tuple[dict, ...]
    scored: SessionResult | None = None
    stopped_in_calibration: bool = False  # a session stopped before its exercise began

    def to_dict(self) -> dict:
        """The ``analyze --json`` document (its documented shape)."""
        doc = {"file": self.file, "duration_s": round(self.duration_s, 3),
               "channels": list(self.channels), "settings": self.settings,
               "contractions": list(self.contractions)}
        if self.scored is not None:
            doc.update(self.scored.to_dict())
        if self.stopped_in_calibration:
            doc["stopped_in_calibration"] = True
        return doc


def analyze(recording: Recording, options: AnalysisOptions | None = None,
            protocol: Protocol | None = None, start_s: float | None = None,
            main: str | None = None, accessory: str | None = None, align: str = "auto") -> dict:
    """Channels, calibration and contractions of a recording, as the JSON document
    (``Analysis.to_dict``); with a protocol also its repetitions scored by the session
    engine."""
    return analysis(recording, options, protocol, start_s, main, accessory, align).to_dict()


def analysis(recording: Recording, options: AnalysisOptions | None = None,
             protocol: Protocol | None = None, start_s: float | None = None,
             main: str | None = None, accessory: str | None = None,
             align: str = "auto") -> Analysis:
    """``analyze`` as a typed value (the command's tables read it)."""
    options = options or AnalysisOptions()
    results, events = run_groups(recording, options, detect_events=protocol is None)
    try:
        return _analysed(recording, options, protocol, results, events, start_s, main,
                         accessory, align)
    finally:
        for r in results:
            if r.spill is not None:
                r.spill.close()


def _analysed(recording: Recording, options: AnalysisOptions, protocol: Protocol | None,
              results: list[ChannelResult], events: list[Contraction], start_s: float | None,
              main: str | None, accessory: str | None, align: str) -> Analysis:
    """``analysis`` of the groups ``run_groups`` processed."""
    scored, scored_group = None, None
    stopped = protocol is not None and start_s is None and stopped_in_calibration(recording)
    if stopped:  # said by the command in its language (``stopped_in_calibration``)
        protocol = None
        events = [e for r in results for e in detect(r)]
        events.sort(key=lambda e: (e.onset_s, e.channel))
    if protocol is not None:  # the session engine detects in its group; others on their own
        rescoring = session_for(recording, protocol, options, start_s, main, accessory, results,
                                align)
        scored = rescoring.run()
        events = rescoring.session.contractions + [e for r in results
                                                   if r is not rescoring.group for e in detect(r)]
        events.sort(key=lambda e: (e.onset_s, e.channel))
        scored_group = (rescoring.group, rescoring.session.quality)
    marks, mvcs = _marks_and_mvcs(results, scored_group)
    return Analysis(recording.path, recording.duration_s,
                    tuple(c for r in results for c in _channel_info(r)),
                    {"mains": options.mains, "detector": vars(options.detector)},
                    tuple(tag_artefacts([e.to_dict() for e in events], marks, mvcs)), scored,
                    stopped)


def _marks_and_mvcs(results: list[ChannelResult],
                    scored: tuple[ChannelResult, SignalQuality] | None
                    ) -> tuple[dict[str, list], dict[str, float | None]]:
    """Each channel's artefact marks and MVC, by name (``tag_artefacts``); the group a
    session scored (``scored``: it and the session's marks) has the session's marks, as the
    live session saw them."""
    marks: dict[str, list] = {}
    mvcs: dict[str, float | None] = {}
    for r in results:
        names = [c.name for c in r.pipeline.channels]
        quality = scored[1] if scored is not None and r is scored[0] else r.quality
        for m in quality.marks if quality is not None else ():
            marks.setdefault(names[m.channel], []).append(m)
        mvcs.update({n: c.mvc for n, c in zip(names, r.calibrations, strict=True)})
    return marks, mvcs


def stopped_in_calibration(recording: Recording) -> bool:
    """A recording of ours that has calibration cues but no work cue: it was stopped before
    the exercise began (its calibration squeezes are not repetitions)."""
    cues = recording.meta.cues
    return any(c.calibration for c in cues) and recording.meta.first_work_cue_s() is None


@dataclass
class Rescoring:
    """A session engine set up as a recording was made, and the blocks to feed it."""

    session: Session
    group: ChannelResult
    alignment: str
    recording: Recording
    until_s: float | None = None  # feed no further (scored by contractions: see anchored_until)

    def blocks(self, block_s: float = BLOCK_S) -> Iterator[Block]:
        """The file as its device delivered it, up to ``until_s``: repetitions after the
        last one with its own contraction were not done, and feeding them would score them
        as missed rather than the session as stopped there."""
        blocks = file_blocks(self.group.group, self.recording, block_s)
        if self.until_s is None:
            return blocks
        end = int(round(self.until_s * self.group.fs_hz))
        return (b.head(end - b.start_sample) for b in blocks if b.start_sample < end)

    def run(self, sinks: list | None = None) -> SessionResult:
        """Score the whole file through the run loop; the session's result, saying how it
        was aligned (``rescoring.rescored``)."""
        end = run(BlockList(self.blocks()), self.session, sinks or [])
        if end.result is None:
            raise InputError("the protocol never got its calibration (file too short?)",
                             self.recording.path)
        return rescored(end.result, self.alignment, self.session.start_s)


def session_for(recording: Recording, protocol: Protocol | None = None,
                options: AnalysisOptions | None = None, start_s: float | None = None,
                main: str | None = None, accessory: str | None = None,
                results: list[ChannelResult] | None = None, align: str = "auto") -> Rescoring:
    """The one way to set a session up from a recording (analysis, report, replay): the
    recorded protocol unless another is given, the recorded calibration, settings, channels
    and alignment."""
    options = options or AnalysisOptions()
    if protocol is None:
        protocol = recorded_protocol_itself(recording)
    main = main or _recorded_channel(recording, "main")
    accessory = accessory or _recorded_channel(recording, "accessory")
    if results is None:
        results, _ = run_groups(recording, options, detect_events=False)
    group = group_of(results, main, accessory, recording.path)
    channels = group.pipeline.channels
    m, _ = pick_channels(channels, main, accessory)
    placed = find_alignment(recording, _contractions_of(group, channels[m].name), start_s,
                            protocol, align)
    cals = {ch.name: cal for ch, cal in zip(channels, group.calibrations, strict=True)}
    try:
        session = Session(protocol, channels, group.fs_hz, cals,
                          pipeline_config=group.pipeline.config,
                          detector_config=options.detector, start_s=placed.start_s,
                          main=main, accessory=accessory, anchors_s=placed.anchors,
                          ranges=group.group.ranges)
    except ValueError as exc:
        raise InputError(str(exc), recording.path) from None
    return Rescoring(session, group, placed.how, recording,
                     anchored_until(protocol, placed.anchors))


def _contractions_of(group: ChannelResult, name: str) -> Callable[[], list[Contraction]]:
    """One channel's contractions, detected when asked for (a pass over the file, which
    alignment by cue annotations does not need)."""
    return lambda: [e for e in detect(group) if e.channel == name]


def _recorded_channel(recording: Recording, key: str) -> str | None:
    """The scored (``main``) or accessory channel the settings name, if the file has one of
    that name: a name it lacks (a hand-edited or damaged annotation) is a warning, and the
    channels are chosen as for a file without settings (the signal is the truth)."""
    name = _str(recording.meta.settings.get(key))
    if name is not None and name not in {s.channel.name for s in recording.signals}:
        if key == "main":  # (each message whole, as the catalogue of words has it)
            log.warning("%s: the recorded main channel %r is not in the file; ignored",
                        recording.path, name)
        else:
            log.warning("%s: the recorded accessory channel %r is not in the file; ignored",
                        recording.path, name)
        return None
    return name


def _str(value: object) -> str | None:
    """A recorded setting that should be a name, if it is one."""
    return value if isinstance(value, str) else None


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
