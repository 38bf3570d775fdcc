"""Plain-text tables the command line prints: a protocol's timeline, contractions,
repetition scores, a patient's progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bbfeedback import texts as words
from bbfeedback.app import change
from bbfeedback.exercise import protocols
from bbfeedback.exercise.shown import shown

if TYPE_CHECKING:  # named only: the command line's tables import no numpy
    from bbfeedback.exercise.result import SessionResult


def t(key: str, lang: str, **values) -> str:
    return words.text(key, lang, **values)


def format_timeline(p, lang: str) -> str:
    lines = [f"{p.id}: {p.name[lang]} - {p.description[lang]}",
             f"{t('source', lang)}: {words.source_text(p.source, lang)}",
             f"{t('col_start', lang):>9} {t('col_duration', lang):>8}  "
             f"{t('col_kind', lang):<10} {t('col_rep', lang):>5}  "
             f"{t('col_target_level', lang):<36} {t('col_cue_word', lang)}"]
    for s in p.timeline():
        ph = s.phase
        target = ""
        if ph.kind == "work":
            if ph.target_pct_mvc is not None:
                lo, hi = ph.band_pct_mvc
                target = words.format_text("{pct:g} % MVC [{lo:g}-{hi:g}]", lang,
                                           pct=ph.target_pct_mvc, lo=lo, hi=hi)
            else:
                target = f"{words.fmt(ph.target_abs, lang, 'g')} {ph.abs_unit}"
            target += ", " + (t("as_long_as_possible", lang) if ph.until_fail
                              else t("hold_for", lang, hold=ph.hold_s))
        dur = words.fmt(ph.duration_s, lang, "g")
        dur = f"<={dur}" if ph.until_fail else dur
        cue = ph.cue_nl if lang == "nl" else ph.cue_en
        posture = f"  ({words.posture(s.posture, lang)})" if s.posture else ""
        lines.append(f"{words.fmt(s.start_s, lang, '.1f'):>9} {dur:>8}  "
                     f"{words.lookup(words.KINDS, ph.kind, lang):<10} {s.rep or '':>5}  "
                     f"{target:<36} {cue}{posture}")
    open_ended = any(s.phase.until_fail for s in p.timeline())  # its length is a limit
    total = t("total_at_most" if open_ended else "total", lang, s=p.duration_s)
    said, calibration_s = _calibration(p, lang)
    lines.insert(2, said)  # above the table: its timeline starts after the calibration
    lines.append(t("total_with_calibration", lang, total=total, s=p.duration_s + calibration_s))
    return "\n".join(lines)


def _calibration(p, lang: str) -> tuple[str, float]:
    """The calibration a session of ``p`` begins with, in words, and its length: the rest
    and, by the protocol's calibration, three maximal or gentle squeezes with their rests
    (a fourth only when they differ)."""
    from bbfeedback.exercise.calibration_plan import (  # no numpy: protocols show is light
        CALIBRATION_REST_S,
        MORE_SECTION,
        calibration_steps,
    )

    steps = [s for s in calibration_steps(p.calibration) if s.section != MORE_SECTION]
    seconds = sum(s.phase.duration_s for s in steps)
    if len(steps) == 1:  # the rest only
        return t("calibration_rest_only", lang, rest=CALIBRATION_REST_S), seconds
    what = t("squeezes_max" if p.calibration == "max" else "squeezes_gentle", lang)
    return t("calibration_first", lang, rest=CALIBRATION_REST_S, what=what, s=seconds), seconds


def format_reps(result: SessionResult, lang: str) -> str:
    """Per-repetition score table and the summary sentences."""
    p = result.protocol
    cols = ("col_rep", "col_cue", "col_held", "col_target", "col_met", "col_rep_rise",
            "col_rep_release", "col_peak", "col_rest")
    heads = [t(c, lang) for c in cols]
    widths = [max(len(h), 6) for h in heads]
    name = protocols.display_name(p.id, lang)
    title = f"{name} ({p.id})" if name != p.id else name
    lines = ["", t("aligned", lang, protocol=title, start=p.start_s,
                   how=words.lookup(words.ALIGNMENTS, p.alignment or "", lang)),
             " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
             + f"  {t('col_flags', lang)}"]
    summary = result.summary
    for rep in result.reps:
        r = shown(rep, summary)  # an assessment: no "te kort", its own rules
        cells = (str(r.index), words.fmt(r.cue_s, lang, ".2f"), *words.held_cells(r, lang),
                 words.met_text(r, lang), words.time_cell(r.rise_s, lang),
                 words.time_cell(r.release_s, lang), words.fmt(r.peak_pct_mvc, lang, ".0f"),
                 words.fmt(r.rest_residual_pct, lang, ".0f"))
        lines.append(" ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
                     + f"  {words.flag_names(r.flags, lang)}")
    lines.append("")
    lines.append(result.text(lang))
    patient = summary.get("patient_text_nl" if lang == "nl" else "patient_text_en")
    if patient:
        lines.append(f"{t('for_patient', lang)}: {patient}")
    return "\n".join(lines)


def format_table(result: dict, lang: str = "en") -> str:
    """A readable table of channels and contractions."""
    lines = [f"{result['file']}  ({words.fmt(result['duration_s'], lang, '.1f')} s)"]
    names = [words.channel(ch["name"], lang) for ch in result["channels"]]
    wide = max([12, *map(len, names)])  # "abdominal muscles" lines up with the others
    for ch, name in zip(result["channels"], names, strict=True):
        kind = words.lookup(words.CHANNEL_KINDS, ch["kind"], lang)
        lines.append(
            f"  {name:<{wide}} {kind:<8} {words.fmt(ch['fs_hz'], lang, 'g'):>5} Hz  "
            f"{t('rest_level', lang)} {words.fmt(ch['baseline'], lang, '.2f')} ± "
            f"{words.fmt(ch['baseline_sd'], lang, '.2f')} {words.unit(ch['unit'])}  "
            f"MVC {words.fmt(ch['mvc'], lang, '.1f')} {words.unit(ch['unit'])}  "
            f"({words.lookup(words.CALIBRATION_SOURCES, ch['calibration'], lang)})")
    lines.append("")
    heads = ["#", t("channel", lang), t("onset", lang), t("offset", lang),
             t("col_duration", lang), t("peak", lang), t("mean", lang), t("unit", lang),
             "% MVC", t("col_rise", lang), t("col_release", lang)]
    chans = [words.channel(c["channel"], lang) for c in result["contractions"]]
    widths = [3, max([17, *map(len, chans)])] + [max(len(h), 6) for h in heads[2:]]
    left = {1, 7}  # channel and unit: text, to the left

    def row(cells) -> str:
        return " ".join(f"{c:<{w}}" if k in left else f"{c:>{w}}"
                        for k, (c, w) in enumerate(zip(cells, widths, strict=True)))

    lines.append(row(heads))
    for i, c in enumerate(result["contractions"], start=1):
        lines.append(row((
            str(i), words.channel(c["channel"], lang), words.fmt(c["onset_s"], lang, ".2f"),
            words.fmt(c["offset_s"], lang, ".2f"),
            words.fmt(c["offset_s"] - c["onset_s"], lang, ".2f"),
            words.fmt(c["peak"], lang, ".2f"), words.fmt(c["mean"], lang, ".2f"),
            words.unit(c["unit"]),
            "" if c["peak_pct_mvc"] is None else words.fmt(c["peak_pct_mvc"], lang, ".0f"),
            words.time_cell(c.get("rise_s"), lang),
            words.time_cell(c.get("release_s"), lang)))
            + (f"  {words.flag_name('not_judged', lang)}: "
               f"{words.flag_names(c['artefact'], lang)}" if c.get("artefact") else ""))
    if not result["contractions"]:
        lines.append("  " + t("no_contractions", lang))
    return "\n".join(lines)


PROGRESS_COLUMNS = ("date", "protocol", "col_mvc", "col_mvc_first", "col_mvc_trend",
                    "col_best_hold", "col_met", "col_quick", "col_fatigue", "col_rest_level",
                    "col_rest_first", "col_rest_trend")


def progress_cells(r: dict, lang: str) -> tuple[str, ...]:
    """One progress row as the table's cells (``PROGRESS_COLUMNS``): MVC and rest with their
    verdict against the first session and their trend (``app/change.py``)."""
    judged = r.get("changes") or {}
    name = protocols.display_name(r["protocol"], lang) + (t("incomplete_mark", lang)
                                                          if r.get("incomplete") else "")
    rest = words.MISSING if r.get("rest") is None else \
        f"{words.fmt(r['rest'], lang, '.1f')} {words.unit(r.get('unit') or '')}".strip()
    return (r["date"], name, words.fmt(r["mvc"], lang, ".1f"),
            words.metric_change_text(judged.get("mvc"), lang),
            words.trend_text(judged.get("mvc"), lang),
            words.fmt(r["best_hold_s"], lang, ".1f"), f"{r['reps_met']}/{r['reps']}",
            words.fmt(r["quick_count"], lang, ".0f"), words.fmt(r["fatigue_ratio"], lang, ".2f"),
            rest, words.metric_change_text(judged.get("rest"), lang),
            words.trend_text(judged.get("rest"), lang))


def noise_values() -> dict:
    """The MDC figures the progress table's note gives (``app/change.py``)."""
    mdcs = change.MDCS
    return {"mvc": mdcs["mvc", "emg"].pct, "tone": mdcs["rest", "emg"].pct,
            "floor": mdcs["rest", "emg"].floor_uV, "p_mvc": mdcs["mvc", "pressure"].abs,
            "p_rest": mdcs["rest", "pressure"].abs}


def format_progress(patient: str, prog, lang: str = "en") -> str:
    heads = [t(k, lang) for k in PROGRESS_COLUMNS]
    rows = [progress_cells(r, lang) for r in prog.rows]
    widths = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(heads)]
    left = {0, 1, 3, 4, 10, 11}  # date, exercise and the verdicts: text, to the left

    def row(cells) -> str:
        return " ".join(f"{c:<{w}}" if k in left else f"{c:>{w}}"
                        for k, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    lines = [f"{t('patient', lang)} {patient}", row(heads)] + [row(r) for r in rows]
    lines.append(t("noise_line", lang, **noise_values()))
    for line in words.adherence_lines(prog.adherence, lang):
        lines.append(t("practice_line", lang, text=line))
    if prog.suggestion:
        s = prog.suggestion
        lines.append(t("suggestion_line", lang, text=words.suggestion_text(
            s, lang, protocols.display_name(s["protocol"], lang)))
                     + ("" if s["change"] == "none" else "; " + t("suggest_accept", lang)))
    return "\n".join(lines)
