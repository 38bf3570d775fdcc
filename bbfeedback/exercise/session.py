"""The session engine: runs a protocol on the sample clock of incoming blocks.

One engine for live devices, replay and offline analysis: raw blocks go in
(``process``); cue changes, contractions and repetition scores come out. Nothing here looks at
the wall clock, so feeding a recording block by block or in one go gives the same scores.

The session coordinates small parts, each with its own state: the signal checks (gaps,
clipping), the pipeline and the trace store (envelope), the protocol clock (cues, step ends),
the calibrator, the contraction detector, the repetition scorer and the summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import Contraction, ContractionDetector, DetectorConfig
from bbfeedback.exercise import summary
from bbfeedback.exercise.calibrator import (
    CALIBRATION,
    MORE_SECTION,
    Calibrator,
    calibration_steps,
)
from bbfeedback.exercise.clock import CueChange, ProtocolClock
from bbfeedback.exercise.contraction_log import ContractionLog
from bbfeedback.exercise.median_frequency import EpochMedianFrequency, median_frequency
from bbfeedback.exercise.protocols import WORK, Protocol, Step, targets
from bbfeedback.exercise.rep_scorer import RepScorer, rep_groups
from bbfeedback.exercise.result import ResultMark, RunInfo, SessionResult
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.signal_quality import Gap, SignalQuality
from bbfeedback.exercise.targets import Targets, TemplateBox
from bbfeedback.exercise.trace_store import Trace, TraceStore
from bbfeedback.signal.blocks import EMG, Block, Channel, SampleGuard
from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, resolve_notch

__all__ = ["CueChange", "Event", "Gap", "RepScored", "Session", "calibration_steps",
           "median_frequency", "pick_channels"]

ACCESSORY_NAMES = ("abd", "abdominal", "accessory", "acc", "buik")


@dataclass(frozen=True)
class RepScored:
    """A repetition was scored (an event of ``Session.process``)."""

    rep: RepScore


# what ``Session.process`` and ``finish`` return, in the order it happened: a cue changed, a
# contraction ended, a repetition was scored, samples were lost (the sinks tell them apart by
# type)
Event = CueChange | Contraction | RepScored | Gap


def pick_channels(channels: tuple[Channel, ...], main: str | None,
                  accessory: str | None) -> tuple[int, int | None]:
    """Indices of the scored (pelvic-floor) channel and of the accessory (abdominal) one."""
    names = [c.name for c in channels]
    if accessory is None:
        accessory = next((c.name for c in channels if c.kind == EMG
                          and c.name.lower().startswith(ACCESSORY_NAMES)), None)
    if main is None:
        main = next((c.name for c in channels if c.kind == EMG and c.name != accessory),
                    channels[0].name)
    if main not in names:
        raise ValueError(f"no channel named {main!r}")
    return names.index(main), (names.index(accessory) if accessory in names else None)


class Session:
    """A protocol running against incoming raw blocks of one device (one sample rate)."""

    def __init__(self, protocol: Protocol, channels: tuple[Channel, ...], fs_hz: float,
                 calibrations: dict[str, Calibration] | None = None, *,
                 pipeline_config: PipelineConfig | None = None,
                 detector_config: DetectorConfig | None = None, start_s: float | None = None,
                 main: str | None = None, accessory: str | None = None,
                 calibration: str | None = None,
                 previous: dict[str, Calibration] | None = None, posture: str | None = None,
                 anchors_s: list[float] | None = None,
                 ranges: dict[str, tuple[float, float]] | None = None, mains: str = "50"):
        """``mains``: the mains frequency notched live ("50", "60" or "off"; a
        ``pipeline_config`` given decides instead). ``calibration``: the protocol's own mode
        (``protocol.calibration``) unless the therapist picks another: "max", "gentle",
        "none" (µV only), "previous" (the MVC of
        ``previous``, the patient's last session's calibration) or "visit" (``previous`` is
        this visit's: ``app/visit.py``); ``posture``: the session's
        ("lying", "sitting", "standing"; else the protocol's first section's), for the words
        of the calibration rest. Given ``calibrations`` for every channel, none is made.
        ``start_s``: the recording time of the protocol's first work cue, as planned without
        the calibration's one more squeeze (asked for only when the first three disagree:
        the protocol then starts that much later). ``anchors_s``: when each repetition began
        (offline, a recording without cues scored by its own contractions); the first is
        ``start_s``. ``ranges``: each channel's device range (driver or file header), where
        its converter saturates."""
        self.protocol = protocol
        self.calibration_mode = calibration or protocol.calibration
        if posture is None:
            posture = next((s.posture for s in protocol.sections if s.posture), None)
        self.fs_hz = fs_hz
        if pipeline_config is None:  # live: notch every harmonic of the mains (50 Hz in NL)
            pipeline_config = PipelineConfig(notch_hz=resolve_notch(mains, None, fs_hz))
        self.pipeline = Pipeline(channels, fs_hz, pipeline_config)
        self._guard = SampleGuard()
        self.channels = self.pipeline.channels
        self.main, self.accessory = pick_channels(self.channels, main, accessory)
        self.detector_config = detector_config or DetectorConfig()
        self.calibrator = Calibrator(self.channels, calibrations, self.calibration_mode,
                                     previous, posture)
        steps = self.calibrator.steps_before(protocol.timeline())
        steps = [Step(i, s.start_s, s.phase, s.section, s.scoring, s.rep, s.posture)
                 for i, s in enumerate(steps)]
        first_work = next(i for i, s in enumerate(steps)
                          if s.phase.kind == WORK and s.scoring != CALIBRATION)
        optional = [s.index for s in steps if s.section == MORE_SECTION]
        lead = sum(s.phase.duration_s for s in steps[:first_work] if s.index not in optional)
        # start_s: recording time of the first work cue of the protocol proper
        self.start_s = lead if start_s is None else start_s
        anchors = {}
        if anchors_s:
            self.start_s = anchors_s[0]
            firsts = [works[0] for works, _ in rep_groups(steps)
                      if steps[works[0]].scoring != CALIBRATION]
            anchors = dict(zip(firsts, anchors_s, strict=False))
        self.origin_s = self.start_s - lead
        self.quality = SignalQuality.for_pipeline(self.pipeline, ranges)
        self.store = TraceStore(self.pipeline)
        self.targets = Targets(self.calibrations, self.channels[self.main].name,
                               self.channels[self.main].kind, self.detector_config)
        self.clock = ProtocolClock(steps, self.origin_s, self.store, self.main, self.targets,
                                   anchors, optional, self._skip)
        self.scorer = RepScorer(protocol, self.clock, self.store, self.targets, self.quality,
                                self.calibrations, [c.name for c in self.channels], self.main,
                                self.accessory, [c.kind for c in self.channels])
        kinds = summary.kinds(protocol, [s for s in steps if s.scoring != CALIBRATION])
        self.mdf = EpochMedianFrequency(fs_hz, enabled="glazer" in kinds)
        self.log = ContractionLog(self.pipeline)
        self.reps: list[RepScore] = []  # the scores so far
        self._position = 0  # sample index after the last one fed
        # the last block's band-passed signal (the pipeline's channels, ``Stages.band``): the
        # window draws it for the therapist (the raw trace wanders with the baseline)
        self.last_band: np.ndarray | None = None
        if self.calibrated():
            self._start_detector()

    # --- the parts' state, as the session's -----------------------------------------------
    @property
    def calibrations(self) -> dict[str, Calibration]:
        return self.calibrator.calibrations

    def calibrated(self) -> bool:
        return self.calibrator.calibrated()

    @property
    def steps(self) -> list[Step]:
        return self.clock.steps

    @property
    def starts(self) -> dict[int, float]:
        return self.clock.starts

    @property
    def cues(self) -> list[CueChange]:
        return self.clock.cues

    @property
    def gaps(self) -> list[Gap]:
        return self.quality.gaps

    @property
    def detector(self) -> ContractionDetector | None:
        return self.log.detector

    @property
    def contractions(self) -> list[Contraction]:
        return self.log.contractions

    @property
    def available_s(self) -> float:
        """Recording time up to which every channel's envelope is complete."""
        return self.store.available_s

    @property
    def ended(self) -> bool:
        """The protocol's last step has ended and the envelope has reached its end: nothing
        is left to cue, and what follows is no part of the session (an as-long-as-possible
        hold moves the end with it: the session is as long as it ran, not as planned)."""
        end = self.clock.ended_at()
        return end is not None and self.store.available_s >= end

    def step_end(self, i: int) -> float | None:
        return self.clock.step_end(i)

    def trace(self, column: int | None = None) -> Trace:
        return self.store.trace(self.main if column is None else column)

    def template(self, a_s: float, b_s: float) -> list[TemplateBox]:
        """What the patient should follow between two times (drawn ahead of the trace)."""
        return self.targets.template(self.clock, a_s, b_s)

    # --- feeding ---------------------------------------------------------------------------
    def process(self, raw: Block) -> list[Event]:
        """Feed one raw block; return what happened (gaps, cues, contractions, scores).
        An empty block is nothing; samples that are not numbers are held (``SampleGuard``;
        the run loop has done so already, before the recorder saw them)."""
        if raw.n_samples == 0:
            return []
        raw = self._guard.check(raw)
        out: list[Event] = list(self.quality.process(raw))
        if (held := self.log.held_before(raw.start_sample)) is not None:  # after a gap
            out += self._detect_and_score(held)
        self._position = raw.end_sample
        stages = self.pipeline.step(raw)
        self.last_band = stages.band
        env, filtered = stages.envelope, stages.band  # the detector refines onsets on the band
        self.quality.check(raw)
        if self.channels[self.main].kind == EMG:
            self.mdf.add(filtered[:, self.main], raw.start_sample)
        self.store.add(env.data, raw.start_sample)
        if env.n_samples:
            self.log.last_level = env.data[-1]
        out += self._cues(raw.end_sample / self.fs_hz)
        return out + self._detect_and_score(env, filtered)

    def finish(self) -> list[Event]:
        """End of stream: close open contractions and score what is left."""
        self.quality.finish()
        out: list[Event] = list(self.log.close())
        self.clock.finished = True
        out += self._cues(self._position / self.fs_hz)
        while self.detector is not None and (rep := self._score_next()) is not None:
            out.append(rep)
        return out

    def _cues(self, clock_s: float) -> list[CueChange]:
        """The cues of the steps begun by ``clock_s``; calibrates when the protocol begins."""
        out = []
        while (cue := self.clock.next_cue(clock_s)) is not None:
            out.append(cue)
            if not cue.calibration and not self.calibrated():
                self.calibrator.calibrate(self.clock, self.store, cue.step, self.quality)
                self._start_detector(int(round(self.clock.starts[cue.step] * self.fs_hz)))
        return out

    def _skip(self, clock: ProtocolClock, i: int) -> bool | None:
        """The clock's hook: the calibration's one more squeeze, asked for or not."""
        return self.calibrator.skip(clock, i, self.store, self.main, self.quality)

    def _detect_and_score(self, env: Block, filtered: np.ndarray | None = None) -> list[Event]:
        """Run the detector over an envelope block, stopping at each repetition's scoring
        sample to score it there: the same detector state whatever the block sizes."""
        out: list[Event] = []
        a = env.start_sample
        while self.detector is not None:
            due = self.scorer.due_sample(self.detector)
            b = env.end_sample if due is None else min(max(due, a), env.end_sample)
            out += self.log.feed(env, a, b, filtered)
            a = b
            if due is None or due > env.end_sample:
                break
            out.append(self._score_next())
        return out

    def _score_next(self) -> RepScored | None:
        on_levels = [ch.on for ch in self.detector.channels]
        score = self.scorer.score_next(self.log.activity(self.main), self._position / self.fs_hz,
                                       on_levels)
        if score is None:
            return None
        self.reps.append(score)
        return RepScored(score)

    def _start_detector(self, from_sample: int = 0) -> None:
        self.log.start([self.calibrations[c.name] for c in self.channels],
                       self.detector_config, from_sample)

    # --- recording ---------------------------------------------------------------------------
    def settings(self) -> dict:
        cfg = self.pipeline.config
        return {"protocol": self.protocol.id, "targets": targets(self.protocol),
                "calibration": self.calibration_mode,
                "notch_hz": cfg.notch_hz, "window_s": cfg.window_s,
                "main": self.channels[self.main].name,
                "accessory": None if self.accessory is None
                else self.channels[self.accessory].name}

    # --- results ---------------------------------------------------------------------------
    def scored(self) -> SessionResult:
        """Everything scored: protocol, calibration, repetitions, summary, gaps, marks."""
        cal = self.calibrations[self.channels[self.main].name]
        steps = tuple(s for s in self.steps if s.scoring != CALIBRATION)
        spans = {s.index: span for s in steps if (span := self.clock.span(s.index)) is not None}
        main = self.channels[self.main].name
        marks = self.quality.marks_of(self.main)
        own = tuple(c for c in self.contractions if c.channel == main and not any(
            m.start_s <= c.onset_s and c.offset_s <= m.end_s for m in marks))  # not artefacts
        facts = summary.SessionFacts(self.protocol, steps, spans, tuple(self.scorer.scores),
                                     self.trace(), cal, tuple(self.mdf.epochs), own,
                                     self._signal_kinds(), tuple(marks))
        names = [c.name for c in self.channels]
        info = RunInfo(self.protocol.id, self.protocol.name, self.protocol.path, self.origin_s,
                       main, None if self.accessory is None else names[self.accessory])
        return SessionResult(info, dict(self.calibrations), tuple(self.reps),
                             summary.summarise(facts), tuple(self.gaps),
                             tuple(ResultMark.of(m, names) for m in self.quality.marks))

    def result(self) -> dict:
        """The scored session as JSON (``SessionResult.to_dict``)."""
        return self.scored().to_dict()

    def _signal_kinds(self) -> tuple[str, ...]:
        """The kinds of the session's channels (a pressure-only session says so)."""
        return tuple(c.kind for c in self.channels)
