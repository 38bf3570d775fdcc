"""Scoring repetitions as they complete: a run of work steps and the rest after them.

A repetition is scored at a set sample (``due_sample``): once its rest is over and the
detector has surely reported every contraction that ended within it (at the end of the
stream: with whatever is there). The session runs the detector up to that very sample and
scores it there, so the score does not depend on how the samples came in blocks. The score
comes from the trace and the detector's contractions (``scoring.score_rep``), plus the flags
that need the rest of the session: the accessory channel (co-contraction, outside the phases
that allow it), straining (pressure or abdominal channel up, pelvic-floor EMG not), lost
samples, and the awareness exercise's ceiling. A repetition whose work or rest overlaps a
marked artefact of the scored channel (``signal_quality``: lead-off, spikes, saturation, a
cable burst) is not judged (``not_judged`` and its cause): never met, never missed, not
counted.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import Contraction, ContractionDetector
from bbfeedback.exercise import matching, scoring
from bbfeedback.exercise.clock import ProtocolClock
from bbfeedback.exercise.contraction_log import report_lag_s
from bbfeedback.exercise.lift import lift_floors
from bbfeedback.exercise.protocols import BASELINE, REST, Protocol, Step
from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.exercise.scoring import NO_REST_S, Activity, WorkStep
from bbfeedback.exercise.signal_quality import BURST_MAX_S, BURST_PCT_MVC, SignalQuality
from bbfeedback.exercise.summary import ASSESSMENTS
from bbfeedback.exercise.targets import Targets
from bbfeedback.exercise.trace_store import TraceStore
from bbfeedback.signal.blocks import EMG, PRESSURE


def rep_groups(steps: list[Step]) -> list[tuple[list[int], int | None]]:
    """(work step indices, index of the rest after them or None) for every repetition."""
    groups, cur = [], []
    for s in steps:
        if s.rep is not None:
            cur.append(s.index)
            continue
        if cur:
            groups.append((cur, s.index if s.phase.kind in (REST, BASELINE) else None))
            cur = []
    if cur:
        groups.append((cur, None))
    return groups


def _rep_end(steps: list[WorkStep], rest_span) -> float:
    """Where a repetition is over: the end of its rest (no rest: ``NO_REST_S`` after its
    work, long enough to see the release)."""
    return rest_span[1] if rest_span else steps[-1].end_s + NO_REST_S


# an artefact this close before the cue (or the patient's own onset) spoils the repetition:
# the envelope there decides whether she was already contracted; one earlier belongs to the
# rest of the repetition before
ARTEFACT_BEFORE_S = 0.25
# the abdominals' level at a cough repetition's cue: the median of this long before it (a
# patient who braces before the cue is braced, not coughing)
BRACED_BEFORE_S = 0.5
# her squeeze inside a never-ended contraction: a rise into the band after this long below it
RISE_BELOW_S = 0.5
BRACED_COUGH_RATIO = 2.0  # a cough at least doubles the braced abdominals' envelope


class RepScorer:
    """The repetitions of a session, scored in order as each one completes."""

    def __init__(self, protocol: Protocol, clock: ProtocolClock, store: TraceStore,
                 targets: Targets, quality: SignalQuality,
                 calibrations: dict[str, Calibration], names: list[str], main: int,
                 accessory: int | None, kinds: list[str] | None = None):
        self.protocol = protocol
        self.clock = clock
        self.store = store
        self.targets = targets
        self.quality = quality
        self.calibrations = calibrations
        self.names = names  # channel names by column
        self.main = main
        self.accessory = accessory
        kinds = kinds or [EMG] * len(names)
        # for straining: a pressure channel, and the pelvic-floor EMG (the scored channel, or
        # beside a scored pressure channel the first EMG that is not the accessory)
        self.pressure = next((c for c, k in enumerate(kinds) if k == PRESSURE), None)
        self.pelvic_emg = main if kinds[main] == EMG else next(
            (c for c, k in enumerate(kinds) if k == EMG and c != accessory), None)
        self.groups = rep_groups(clock.steps)
        self.next_group = 0  # the first repetition not scored yet
        self.scores: list[RepScore] = []
        self._taken_s = float("-inf")  # onset of the last contraction a repetition followed
        self._window: matching.Window | None = None  # the last repetition's reaction window
        self._lags_s: list[float] = []  # her answers' onsets from their cues, in order

    def due_sample(self, detector: ContractionDetector) -> int | None:
        """The sample at which the next repetition is scored: by then the trace covers its
        rest and the detector has surely reported every contraction that ended within it.
        None: no repetition left, or the end of its rest is not known yet."""
        if self.next_group >= len(self.groups):
            return None
        works, rest = self.groups[self.next_group]
        until = self._until(works, rest) if works[0] in self.clock.starts else None
        if until is None:
            return None
        det = detector.channels[self.main]
        # ... and every signal-quality mark of it is final (``SignalQuality.lag_s``)
        due_s = until + max(report_lag_s(det, self.store.k) + self.store.lag_s,
                            self.quality.lag_s)
        return int(np.ceil(due_s * det.fs_hz))

    def score_next(self, activity: Activity, position_s: float,
                   on_levels: list[float] | None = None) -> RepScore | None:
        """Score the next repetition with what the detector knows now of the scored channel
        (None: none is left, or its work has not begun). ``position_s``: the end of what was
        fed (for a step whose end is not known, at the end of the stream); ``on_levels``: the
        detector's *on* level of every column (the accessory and straining rules)."""
        if self.next_group >= len(self.groups):
            return None
        works, rest = self.groups[self.next_group]
        if works[0] > self.clock.cue_step:  # not begun (at the end: never reached)
            return None
        rep = self._score(works, rest, activity, position_s, on_levels)
        self.next_group += 1
        self.scores.append(rep)
        return rep

    def _until(self, works: list[int], rest: int | None) -> float | None:
        """When a repetition is over: the end of its rest (no rest: a while after its work)."""
        last = rest if rest is not None else works[-1]
        end = self.clock.step_end(last) if last in self.clock.starts else None
        return end if end is None or rest is not None else end + NO_REST_S

    def _score(self, works: list[int], rest: int | None, activity: Activity,
               position_s: float, on_levels: list[float] | None = None) -> RepScore:
        clock = self.clock
        cal = self.calibrations[self.names[self.main]]
        steps = []
        for i in works:
            if i > clock.cue_step:  # stopped before this step of the rep (a lift floor)
                break
            ph = clock.steps[i].phase
            end = clock.step_end(i) or position_s
            steps.append(WorkStep(clock.starts[i], end, self.targets.band(ph), ph.hold_s,
                                  ph.reach_s))
        rest_span = None
        if rest is not None and rest in clock.starts:
            rest_span = (clock.starts[rest], clock.step_end(rest))
        first = clock.steps[works[0]]
        trace = self.store.trace(self.main)
        quick = first.scoring == "quick" or all(
            0 < clock.steps[i].phase.hold_s <= scoring.QUICK_HOLD_S
            and not clock.steps[i].phase.until_fail for i in works)
        answer = self._answer(activity, steps, works, rest_span, quick,
                              first.scoring == "calibration")
        mine = answer is not None and answer.onset_s is not None
        shift = answer.onset_s - steps[0].start_s if mine else 0.0
        lift = None
        if first.scoring == "lift":  # the floors are the steps inside her own contraction
            p = self.protocol
            end = _rep_end(steps, rest_span)
            onset = answer.onset_s if mine else steps[0].start_s
            offset = answer.offset_s if mine else steps[-1].end_s
            seg, t0 = trace.window(min(onset, steps[0].start_s) - 1.0, end)  # never past
            lift = lift_floors(seg, trace.rate_hz, t0, onset, offset, len(steps), cal,
                               p.param("min_floor_step_pct"), p.param("max_floor_cv_pct"),
                               p.param("release_quick_s"))
        rep = scoring.score_rep(first.rep, steps, rest_span, trace, cal, activity,
                                first.section, first.posture, lift,
                                self.protocol.param("rest_limit_uV"), answer, quick)
        if quick:  # judged on a squeeze of its own reaching the band, not on hold time
            peak, lo = rep.peak, steps[0].band[0]
            risen = False
            if not mine:  # a flick inside a contraction that never ended (a rest too tense
                # to fall below the *off* level): her flick is the envelope rising into the
                # band within the reaction window, from below it and by at least half its
                # height above rest (the last flick's tail, or a tense rest's wobble about
                # the band's edge, is no squeeze of its own)
                seg, _ = trace.window(steps[0].start_s, self._window.end_s)
                if seg.size:
                    top = int(np.argmax(seg))
                    peak = float(seg[top])
                    low = float(seg[:top].min()) if top > 0 else peak
                    risen = peak >= lo > low and \
                        peak - low >= 0.5 * (peak - cal.baseline_mean)
            squeezed = mine or risen
            weak = squeezed and peak < lo
            flags = tuple(f for f in rep.flags if f not in (Flag.SHORT_HOLD, Flag.NO_CONTRACTION))
            if not squeezed:  # no squeeze of hers: nothing rose late or let go slowly
                flags = tuple(f for f in flags if f not in (Flag.LATE_ONSET, Flag.SLOW_RELEASE))
                rep = replace(rep, rise_s=None, release_s=None)
            rep = replace(rep, met=squeezed and not weak, peak=round(peak, 3),
                          peak_pct_mvc=scoring.pct_of(cal, peak),
                          flags=((Flag.NO_CONTRACTION,) if not squeezed else ())
                          + flags + ((Flag.TOO_WEAK,) if weak else ()))
        if self.protocol.scoring in ASSESSMENTS and rep.has(Flag.SHORT_HOLD):
            # an assessment measures, it does not coach: her hold time is the measure (PERFECT
            # E and R against her own E), never "te kort" against the cue
            rep = replace(rep, flags=tuple(f for f in rep.flags if f != Flag.SHORT_HOLD))
        if clock.finished and self._cut_short(works, position_s):
            return replace(rep, met=False, flags=(Flag.STOPPED,))
        artefacts = self._artefacts(steps, rest_span, shift, cal)
        if artefacts:  # no measure of an artefact reaches a table, a count or a trend
            return replace(rep, met=False, flags=(Flag.NOT_JUDGED, *artefacts), hold_s=None,
                           step_holds_s=(), rise_s=None, release_s=None, peak=None,
                           peak_pct_mvc=None, mean=None, mean_pct_mvc=None,
                           rest_residual_pct=None, rest_level=None, rest_ratio=None,
                           lift=None)
        allowed = [clock.steps[i].phase.accessory_allowed for i in works[:len(steps)]]
        more = self._flags(rep, steps, rest_span, first, allowed, on_levels)
        cough = next((s for s, i in zip(steps, works, strict=False)
                      if clock.steps[i].phase.knack), None)
        if cough is not None and on_levels is not None and not rep.has(Flag.NO_CONTRACTION) \
                and scoring.knack_late(  # contracted from before: on before the cough
                    rep.onset_s if rep.onset_s is not None else float("-inf"),
                    self._cough_rise(steps[0].start_s, cough.end_s, on_levels)):
            more.append(Flag.KNACK_LATE)
        return replace(rep, flags=rep.flags + tuple(more)) if more else rep

    def _cut_short(self, works: list[int], position_s: float) -> bool:
        """The session ended before this repetition's work did (Stop, an unplugged cable):
        a hold cut off by the therapist is no short hold of the patient's, so it is not
        judged (an as-long-as-possible hold is done when the patient lets go; one that
        ends with the stream was still held)."""
        last = works[-1]
        if last > self.clock.cue_step:
            return True
        end = self.clock.step_end(last)
        if end is None:
            return True
        if self.clock.steps[last].phase.until_fail:  # (its end is then the trace's)
            return end >= self.store.available_s - 1e-6
        return end > position_s + 1e-6

    def _artefacts(self, steps: list[WorkStep], rest_span, shift: float,
                   cal: Calibration) -> tuple[Flag, ...]:
        """The causes of the marks (``signal_quality``) that overlap this repetition, from
        just before its cue (or the patient's own onset) to the end of its rest. Cable
        bursts are marked here: they are known only against the MVC (EMG only: a cough's
        pressure peak is far above a squeeze's, and real)."""
        a = min(steps[0].start_s, steps[0].start_s + shift) - ARTEFACT_BEFORE_S
        b = _rep_end(steps, rest_span)
        if cal.mvc is not None and cal.unit == "uV":
            trace = self.store.trace(self.main)
            seg, t0 = trace.window(a - BURST_MAX_S, b + BURST_MAX_S)
            self.quality.mark_bursts(self.main, seg, t0, trace.rate_hz,
                                     cal.level(BURST_PCT_MVC))
        kinds = tuple(k.flag for k in self.quality.overlapping(self.main, a, b))
        return kinds + ((Flag.SIGNAL_GAP,) if self.quality.long_gap(a, b) else ())

    def _answer(self, activity: Activity, steps: list[WorkStep], works: list[int],
                rest_span, quick: bool, calibration: bool) -> scoring.Answer | None:
        """The patient's own contraction for this repetition (``matching``), in order after
        the previous repetition's, with the onset of her next one (where her rest ends)."""
        if calibration:
            return None
        events = sorted([(c, False) for c in activity.closed]
                        + [(c, True) for c in activity.open], key=lambda e: e[0].onset_s)
        cue = steps[0].start_s
        work = steps[-1].end_s - cue
        hold = sum(s.target_hold_s for s in steps)
        before = self.clock.steps[works[0] - 1] if works[0] > 0 else None
        rest_before = before.phase.duration_s if before is not None and \
            before.phase.kind in (REST, BASELINE) else None
        rest_after = rest_span[1] - rest_span[0] if rest_span else None
        window = matching.reaction_window(cue, work, hold, quick, rest_before, rest_after)
        self._window = window
        lag = matching.expected_lag_s(self._lags_s)
        got = matching.answer(events, cue, window, self._taken_s, lag)

        def squeeze(c, going: bool) -> bool:
            return self._squeezing(c, going, cue, steps[0].band[0], quick)

        too_early = got is None and rest_before is not None
        if got is None and quick and lag >= 0:  # reacting after her cues: a squeeze in
            # this window's tail is this cue's, begun late (``late_answer``)
            got = matching.late_answer(events, window, self._taken_s)
            too_early = too_early and got is None
        if too_early:  # begun in the rest before the window: too early
            got = matching.early_answer(events, window, self._taken_s, cue - rest_before,
                                        squeeze)
        end_s = _rep_end(steps, rest_span)
        if got is None:  # a rest too tense to end the last contraction: her squeeze is
            # the envelope's own rise into the band, inside that contraction
            rise = self._rise_in(events, window, steps[0].band[0])
            if rise is not None:
                onset, carrier, going = rise
                self._taken_s = max(self._taken_s, carrier.onset_s)
                self._lags_s.append(onset - cue)
                offset = None if going or carrier.offset_s > end_s else carrier.offset_s
                nxt = matching.next_onset(events, carrier.onset_s if offset is None else offset)
                return scoring.Answer(onset, offset,
                                      nxt if nxt is not None and nxt < end_s else None)
        if got is None:  # no answer: the cue's windows are judged, the rest cut only where
            # the next repetition's answer begins early (in its own reaction window, or
            # before it: a squeeze, or a contraction still on when this rest ends)
            rest_len = end_s - steps[-1].end_s
            early = min(matching.EARLY_S, rest_len / 2)
            after = max(steps[-1].end_s, self._taken_s)
            nxt = next(((c, on) for c, on in events if c.onset_s > after), None)
            ok = nxt is not None and nxt[0].onset_s < end_s and (
                nxt[0].onset_s >= end_s - early or nxt[1] or nxt[0].offset_s > end_s
                or squeeze(*nxt))
            nxt = nxt[0].onset_s if nxt is not None else None
            return scoring.Answer(None, None, nxt) if ok else None
        self._taken_s = got.onset_s
        self._lags_s.append(got.onset_s - cue)  # her own timing, early and late answers too
        going = any(c is got for c, on in events if on)
        offset = None if going or got.offset_s > end_s else got.offset_s
        nxt = matching.next_onset(events, got.onset_s if offset is None else offset)
        return scoring.Answer(got.onset_s, offset,
                              nxt if nxt is not None and nxt < end_s else None, too_early)

    def _rise_in(self, events: list[tuple[Contraction, bool]], window: matching.Window,
                 band_low: float) -> tuple[float, Contraction, bool] | None:
        """Her squeeze inside a contraction that never ended (a rest too tense to fall below
        the detector's *off* level; the walkthrough's late start after a tense rest read "te
        kort, traag ontspannen, onvolledig ontspannen" and no "laat begonnen"): the first rise
        of the envelope into the band within the reaction window after ``RISE_BELOW_S`` below
        it. Her onset is where that rise began: the last time before it at a quarter of the
        way from the level below to the band. (onset, the contraction it lies in, still
        going on), or None: no contraction spans the window's start, or no such rise."""
        carrier = next(((c, going) for c, going in events if c.onset_s < window.start_s
                        and (going or c.offset_s > window.start_s)), None)
        if carrier is None:
            return None
        trace = self.store.trace(self.main)
        seg, t0 = trace.window(window.start_s - RISE_BELOW_S, window.end_s)
        n = int(round(RISE_BELOW_S * trace.rate_hz))
        above = seg >= band_low
        for i in np.flatnonzero(above[1:] & ~above[:-1]) + 1:
            if i < n or above[i - n:i].any() or t0 + i / trace.rate_hz < window.start_s:
                continue
            below = float(np.median(seg[i - n:i]))
            start = np.flatnonzero(seg[:i] <= below + 0.25 * (band_low - below))
            onset = t0 + (int(start[-1]) if start.size else i) / trace.rate_hz
            if onset >= window.start_s:
                return onset, carrier[0], carrier[1]
        return None

    def _squeezing(self, c: Contraction, going: bool, cue_s: float, band_low: float,
                   quick: bool) -> bool:
        """A contraction before the cue was a squeeze: its envelope up to the cue (or to
        its offset) reaches the target band, a flick at its peak, a hold on its median (a
        tense rest crosses the detector's *on* level too, but stays far below the band)."""
        end = cue_s if going or c.offset_s > cue_s else c.offset_s
        seg, _ = self.store.trace(self.main).window(c.onset_s, end)
        if not seg.size:
            return False
        return float(seg.max() if quick else np.median(seg)) >= band_low

    def _cough_rise(self, cue_s: float, end_s: float, on_levels: list[float]) -> float | None:
        """When the cough began: the first rise of the abdominal channel to its *on* level,
        or, braced already at the repetition's cue (its median over ``BRACED_BEFORE_S``),
        to ``BRACED_COUGH_RATIO`` times that (a braced envelope wobbles by a third; a cough's
        burst is several times the bracing), or of the
        pressure by its *on* step above the 2 s before the cue, whichever is first, from the
        repetition's cue to the end of the cough phase (+1 s)."""
        rises = []
        if self.accessory is not None:
            tr = self.store.trace(self.accessory)
            before, _ = tr.window(cue_s - BRACED_BEFORE_S, cue_s)
            on = on_levels[self.accessory]
            braced = float(np.median(before)) if before.size else 0.0
            level = max(on, BRACED_COUGH_RATIO * braced)
            rises.append(scoring.first_rise(tr, level, cue_s, end_s + 1.0))
        if self.pressure is not None and self.pressure not in (self.accessory, self.main):
            tr = self.store.trace(self.pressure)
            before, _ = tr.window(cue_s - scoring.PRESSURE_BEFORE_S, cue_s)
            cal = self.calibrations[self.names[self.pressure]]
            if before.size:
                step = on_levels[self.pressure] - cal.baseline_mean
                rises.append(scoring.first_rise(tr, float(np.median(before)) + step, cue_s,
                                                end_s + 1.0))
        known = [t for t in rises if t is not None]
        return min(known) if known else None

    def _flags(self, rep: RepScore, steps: list[WorkStep], rest_span, first: Step,
               allowed: list[bool], on_levels: list[float] | None) -> list[Flag]:
        a, b = steps[0].start_s, steps[-1].end_s
        until = rest_span[1] if rest_span else b
        out = []
        if on_levels is not None:
            out += self._accessory_flags(rep, steps, allowed, on_levels)
        out += self.quality.flags(a, until)
        if first.scoring == "awareness" and (rep.peak_pct_mvc or 0) > \
                self.protocol.param("max_pct_mvc"):
            out.append(Flag.TOO_STRONG)
        if self.pelvic_emg is None and self.pressure == self.main and not rep.has(
                Flag.NO_CONTRACTION) and b - a > scoring.QUICK_HOLD_S + 0.5 \
                and scoring.slow_push(self.store.trace(self.main), a, b):
            out.append(Flag.POSSIBLE_STRAINING)
        return out

    def _accessory_flags(self, rep: RepScore, steps: list[WorkStep], allowed: list[bool],
                         on_levels: list[float]) -> list[Flag]:
        """co_contraction: the pelvic floor contracted and the accessory rose with it in a work
        phase that does not allow it; straining: the pelvic floor did not contract while the
        pressure or the accessory rose (any phase)."""
        a, b = steps[0].start_s, steps[-1].end_s
        if self.pelvic_emg is not None and self.pelvic_emg != self.main:
            quiet = not scoring.rose(self.store.trace(self.pelvic_emg),
                                     on_levels[self.pelvic_emg], a - scoring.PRE_CUE_S, b)
        else:  # the scored channel (a pressure channel alone: it cannot tell a push)
            quiet = rep.has(Flag.NO_CONTRACTION)
        acc_on = acc_all = False
        if self.accessory is not None:
            acc = self.store.trace(self.accessory)
            level = on_levels[self.accessory]
            spans = [(s.start_s, s.end_s) for s, ok in zip(steps, allowed, strict=True)
                     if not ok]
            acc_on = scoring.co_contracting(acc, level, spans)
            acc_all = scoring.co_contracting(acc, level, [(a, b)])
        out = []
        if acc_on and not quiet:
            out.append(Flag.CO_CONTRACTION)
        rise = step = None
        if self.pressure is not None and self.pressure != self.accessory:
            cal = self.calibrations[self.names[self.pressure]]
            rise = scoring.pressure_rise(self.store.trace(self.pressure), a, b)
            step = on_levels[self.pressure] - cal.baseline_mean
        if self.pelvic_emg is not None and scoring.straining(quiet, rise, step, acc_all):
            out.append(Flag.STRAINING)
        return out
