"""Printable, self-contained HTML reports (inline SVG plots, no network), Dutch or English.

One session: the trace with the target template and detected contractions, the score table
with flags, Glazer / PERFECT numbers where recorded, calibration and device. A patient's
progress: MVC, best hold, repetitions met and resting tone over the sessions.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bbfeedback import texts as words
from bbfeedback.app.analyze import session_for, stopped_in_calibration
from bbfeedback.app.history import Progress
from bbfeedback.app.tables import PROGRESS_COLUMNS, noise_values, progress_cells
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.shown import shown
from bbfeedback.exercise.targets import TemplateBox
from bbfeedback.recording import read_recording
from bbfeedback.recording.annotations import finite
from bbfeedback.recording.outputs import write_private

W, H = 1000, 260  # SVG user units; scales to the page width
LEFT, RIGHT, FONT = 70, 40, 17

CSS = """
@page { size: A4; margin: 14mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; color: #222; font-size: 10.5pt;
       max-width: 190mm; margin: auto; }
h1 { font-size: 17pt; color: #1f4e8c; margin-bottom: 2mm; }
h2 { font-size: 12.5pt; color: #1f4e8c; border-bottom: 1px solid #ccd; margin-top: 6mm; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { border: 1px solid #ccd; padding: 2px 5px; text-align: right; }
th { background: #eef2f8; } td.l, th.l { text-align: left; }
table.meta { width: auto; } .meta td { text-align: left; border: none; padding: 1px 10px 1px 0; }
svg { width: 100%; height: auto; max-height: 62mm; } .note { color: #555; font-size: 9pt; }
.summary { font-size: 11.5pt; background: #f4f8f4; padding: 3mm; border-radius: 2mm; }
tr { page-break-inside: avoid; } figure { margin: 0; page-break-inside: avoid; }
table.sessions { font-size: 7pt; }  /* ten columns and more: A4 holds them all */
table.sessions th, table.sessions td { padding: 1px 2px; overflow-wrap: break-word; }
"""


def t(key: str, lang: str, **values) -> str:
    """A text of the one table of words (``bbfeedback.texts``), in ``lang``."""
    return words.text(key, lang, **values)


def _e(x) -> str:
    return html.escape(str(x))


def page(title: str, body: str, lang: str) -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{_e(title)}</h1>{body}</body></html>")


def _fmt(v, fmt: str = "{:.1f}", lang: str = "en") -> str:
    """A number as text in ``lang`` (decimal comma in Dutch); "–" for none; anything else (a
    damaged annotation) as it is."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return words.MISSING
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)[:40]
    return words.fmt(v + 0.0, lang, fmt[2:-1])


# --- SVG ------------------------------------------------------------------------------------
def _axes(x0: float, x1: float, y1: float, unit: str, xlabel: str = "s",
          xticks: bool = True, lang: str = "en") -> list[str]:
    out = [f'<line x1="{LEFT}" y1="{H - 30}" x2="{W - RIGHT}" y2="{H - 30}" stroke="#888"/>',
           f'<line x1="{LEFT}" y1="14" x2="{LEFT}" y2="{H - 30}" stroke="#888"/>',
           f'<text x="{LEFT + 8}" y="{FONT}" font-size="{FONT}" fill="#555">'
           f'{_e(words.unit(unit))}</text>',
           f'<text x="{W - RIGHT + 6}" y="{H - 26}" font-size="{FONT}">{_e(xlabel)}</text>']
    for frac in (0, 0.5, 1):
        y = H - 30 - frac * (H - 50)
        out.append(f'<text x="{LEFT - 6}" y="{y + 6:.0f}" font-size="{FONT}" '
                   f'text-anchor="end">{words.fmt(y1 * frac, lang, ".0f")}</text>')
    if not xticks:
        return out
    step = _nice((x1 - x0) / 8)
    v = np.ceil(x0 / step) * step
    while v <= x1:
        x = LEFT + (v - x0) / max(x1 - x0, 1e-9) * (W - LEFT - RIGHT)
        out.append(f'<text x="{x:.0f}" y="{H - 6}" font-size="{FONT}" '
                   f'text-anchor="middle">{words.fmt(v + 0.0, lang, "g")}</text>')
        v += step
    return out


def _nice(step: float) -> float:
    mag = 10 ** np.floor(np.log10(max(step, 1e-9)))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * mag - step)) * mag)


def trace_svg(t_s: np.ndarray, level: np.ndarray, template: list[TemplateBox], events: list,
              unit: str, lang: str = "en", artefacts: tuple = ()) -> str:
    """The envelope over the whole session with the work bands and contraction marks, and
    the marked artefacts (``(start_s, end_s)``) shaded grey over the whole height, as the
    therapist window shades them."""
    x0, x1 = float(t_s[0]), float(t_s[-1])
    top = float(max(np.percentile(level, 99.5) * 1.15, 1.0))

    def sx(v):
        return LEFT + (v - x0) / max(x1 - x0, 1e-9) * (W - LEFT - RIGHT)

    def sy(v):
        return H - 30 - min(v, top) / top * (H - 50)

    parts = [f'<svg viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg">']
    for a, b in artefacts:
        a, b = max(a, x0), min(b, x1)
        if b > a:
            parts.append(f'<rect x="{sx(a):.1f}" y="10" width="{max(sx(b) - sx(a), 1.0):.1f}" '
                         f'height="{H - 40}" fill="#5a5a5a" fill-opacity="0.25"/>')
    for b in template:
        if b.kind == "work" and b.drawn_band:
            lo, hi = b.drawn_band
            parts.append(f'<rect x="{sx(b.start_s):.1f}" y="{sy(min(hi, top)):.1f}" '
                         f'width="{sx(b.end_s) - sx(b.start_s):.1f}" '
                         f'height="{sy(lo) - sy(min(hi, top)):.1f}" fill="#2ea043" '
                         'fill-opacity="0.22"/>')
    step = max(1, level.size // 3000)  # at most ~3000 points: small files, fine print
    pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(t_s[::step], level[::step],
                                                             strict=True))
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#1f4e8c" stroke-width="1.2"/>')
    for e in events:
        for v, color in ((e["onset_s"], "#27ae60"), (e["offset_s"], "#8e44ad")):
            parts.append(f'<line x1="{sx(v):.1f}" y1="10" x2="{sx(v):.1f}" y2="{H - 30}" '
                         f'stroke="{color}" stroke-width="0.8"/>')
    parts += _axes(x0, x1, top, unit, lang=lang)
    parts.append("</svg>")
    return "".join(parts)


SERIES_COLOURS = ("#1f4e8c", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d")


def series_svg(values: list[float | None], labels: list[str], unit: str,
               lang: str = "en", groups: list[str] | None = None) -> str:
    """A small line chart over sessions; with ``groups`` (each session's exercise, as
    shown) one line per exercise, in its own colour with its name: a 5 s hold of one
    exercise and a 49 s hold of another are not one trend."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if not pts:
        return '<p class="note">-</p>'
    top = max(max(v for _, v in pts) * 1.2, 1.0)
    n = max(len(values) - 1, 1)

    def sx(i):
        return LEFT + i / n * (W - LEFT - RIGHT)

    def sy(v):
        return H - 30 - v / top * (H - 50)

    parts = [f'<svg viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg">']
    names = list(dict.fromkeys(groups)) if groups else [""]
    for k, name in enumerate(names):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        mine = [(i, v) for i, v in pts if not groups or groups[i] == name]
        if not mine:
            continue
        parts.append('<polyline points="' + " ".join(f"{sx(i):.1f},{sy(v):.1f}"
                                                     for i, v in mine)
                     + f'" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{sx(i):.1f}" cy="{sy(v):.1f}" r="4" fill="{colour}"/>'
                  for i, v in mine]

    parts += _axes(0, n, top, unit, "", xticks=False, lang=lang)
    every = max(1, len(labels) // 6)
    for i, lab in enumerate(labels):
        last = i == len(labels) - 1
        if last or (i % every == 0 and len(labels) - 1 - i >= max(1, every // 2 + 1)):
            anchor = "end" if i == len(labels) - 1 and i else "middle"
            parts.append(f'<text x="{sx(i):.0f}" y="{H - 6}" font-size="{FONT}" '
                         f'text-anchor="{anchor}">{_e(lab)}</text>')
    parts.append("</svg>")
    if len(names) > 1:  # which line is which exercise, under the chart
        parts.append('<p class="note">' + "&nbsp;&nbsp;".join(
            f'<span style="color:{SERIES_COLOURS[k % len(SERIES_COLOURS)]}">● {_e(name)}'
            "</span>" for k, name in enumerate(names)) + "</p>")
    return "".join(parts)


# --- session report -------------------------------------------------------------------------
def stopped_in_calibration_line(rec, lang: str = "en") -> str:
    """What a session stopped before its exercise began has to show, in one line: no
    repetitions (its calibration squeezes are none: scoring them as repetitions, or asking
    for --start-s, would mislead), and what its calibration did reach."""
    def sec(v: float) -> str:
        return words.fmt(v, lang, ".1f")

    cues = [c for c in rec.meta.cues if c.calibration]
    rest = [c for c in cues if c.kind == "baseline"]
    squeezes = [c for c in cues if c.kind == "work"]
    had = []
    if rest:
        had.append(words.text("cal_had_rest", lang, t=sec(rest[0].onset_s)))
    if squeezes:
        had.append(words.text("cal_had_squeezes", lang, n=len(squeezes),
                               t=sec(squeezes[0].onset_s)))
    cal = rec.meta.last("calibration") or {}
    for name, c in cal.items():  # finished, but stopped before the first repetition
        if isinstance(c, dict) and c.get("baseline_mean") is not None:
            had.append(t("calibration_of", lang, channel=words.channel(name, lang),
                         mean=c["baseline_mean"], sd=c.get("baseline_sd") or 0.0,
                         unit=words.unit(c.get("unit") or ""), mvc=c.get("mvc") or 0.0))
    if had and not cal:
        had.append(words.text("cal_had_unfinished", lang))
    return words.text("stopped_in_calibration_at", lang, t=sec(rec.duration_s),
                      had="; ".join(had) or words.text("cal_had_nothing", lang))


def session_report(path: str | Path, lang: str = "en") -> str:
    rec = read_recording(path)
    meta = rec.meta
    if stopped_in_calibration(rec):  # one line (InputError), not an empty report
        raise InputError(stopped_in_calibration_line(rec, lang), rec.path)
    rescoring = session_for(rec)
    result = rescoring.run()
    session = rescoring.session
    tr = session.trace()
    main = session.channels[session.main]
    level = tr.values
    t_s = tr.t0_s + np.arange(level.size) / tr.rate_hz
    events = [e.to_dict() for e in session.contractions if e.channel == main.name]
    template = session.template(float(t_s[0]), float(t_s[-1]))
    artefacts = tuple((m.start_s, m.end_s) for m in session.quality.marks_of(session.main))
    proto = session.protocol
    body = [_meta_table(rec, meta, proto, session.calibrations, lang,
                        result.summary.get("signal_check")),
            f"<h2>{t('summary', lang)}</h2>",
            f'<p class="summary">{_e(result.text(lang))}</p>',
            _patient_part(result.summary, lang),
            f"<h2>{t('trace', lang)}</h2><figure>"
            f"{trace_svg(t_s, level, template, events, main.unit, lang, artefacts)}</figure>",
            f'<p class="note">{t("legend", lang)}</p>',
            f"<h2>{t('reps', lang)}</h2>"
            f"{_rep_table(result.reps, lang, result.summary)}"]
    summary = result.summary
    if "glazer" in summary:
        body.append(f"<h2>{t('glazer', lang)}</h2>"
                    f"{_glazer_table(summary['glazer'], lang, main.unit)}")
    if "perfect" in summary:
        p = summary["perfect"]
        note = "p_note_pressure" if p.get("P") is not None else "p_note"
        body.append(f"<h2>{t('perfect', lang)}</h2><p>"
                    + _e(t("perfect_line", lang, E=p.get("E"), R=p.get("R"), F=p.get("F"),
                           P=p.get("P")))
                    + f'</p><p class="note">{t(note, lang)}</p>')
    return page(f"{t('session_report', lang)} - {proto.name[lang]}", "".join(body), lang)


def _signal_line(check: dict, lang: str) -> str:
    """"MVC 12,3 × de rust (kalibratie van de sessie); knijpen 36,4 / 37,4 / 34,5 µV (eens)"."""
    parts = [words.lookup(words.CALIBRATION_SOURCES, check.get("calibration") or "", lang)]
    if check.get("ratio") is not None:
        parts.insert(0, t("mvc_ratio", lang, ratio=check["ratio"]))
    if check.get("squeezes"):
        agree = "squeezes_agree" if check.get("squeezes_agree") else "squeezes_differ"
        parts.append(t("squeezes_line", lang, levels=" / ".join(
            words.fmt(v, lang, ".1f") for v in check["squeezes"]),
            unit=words.unit(check.get("unit") or ""), agree=t(agree, lang)))
    if check.get("one_more_asked"):
        parts.append(t("one_more_confirmed" if check.get("one_more_confirmed")
                       else "one_more_unconfirmed", lang))
    return "; ".join(p for p in parts if p)


def _meta_table(rec, meta, proto, cals: dict, lang: str, check: dict | None = None) -> str:
    """The session's facts; the calibration as the session used it (with where its MVC comes
    from, the MVC as a multiple of the rest and the calibration squeezes: the numbers every
    score rests on), the device and posture as recorded (checked when read:
    ``recording.schemas``)."""
    device = meta.last("device") or {}
    cal_text = "; ".join(
        t("calibration_of", lang, channel=words.channel(name, lang), mean=c.baseline_mean,
          sd=c.baseline_sd, unit=words.unit(c.unit), mvc=c.mvc) for name, c in cals.items())
    rows = [(t("patient", lang), rec.header.get("patientCode") or "X"),
            (t("date", lang), (rec.header.get("start") or "")[:16].replace("T", " ")),
            (t("protocol", lang), f"{proto.name[lang]} ({proto.id})"),
            (t("posture", lang), words.posture(meta.last("posture") or device.get("posture"),
                                               lang)),
            (t("device", lang), f"{device.get('name') or words.MISSING} "
                                f"({_fmt(device.get('fs_hz'), '{:.0f}', lang)} Hz)"),
            (t("calibration", lang), cal_text or words.MISSING)]
    if check:
        rows.append((t("signal_check", lang), _signal_line(check, lang)))
    return '<table class="meta">' + "".join(
        f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def _patient_part(summary: dict, lang: str) -> str:
    """The patient's sentences (u-form, no units, one thing to do next time), under their
    own heading; nothing for a summary written before they existed."""
    text = summary.get("patient_text_nl" if lang == "nl" else "patient_text_en")
    if not text:
        return ""
    return f"<h2>{t('for_patient', lang)}</h2><p class=\"summary\">{_e(text)}</p>"


def _rep_table(reps: Sequence[RepScore], lang: str, summary: Mapping | None = None) -> str:
    """The repetitions as the tables show them (``exercise.shown``: an assessment without
    "te kort", a Glazer flick by its block's rule); a time that does not exist is "–"."""
    cols = ("col_rep", "col_cue", "col_held", "col_target", "col_met", "col_peak", "col_rep_rise",
            "col_rep_release", "col_rest")
    head = "".join(f"<th>{t(c, lang)}</th>" for c in cols) + f'<th class="l">' \
        f"{t('col_flags', lang)}</th>"
    rows = []
    for rep in reps:
        r = shown(rep, summary)
        cells = (r.index, _fmt(r.cue_s, lang=lang), *words.held_cells(r, lang),
                 words.met_text(r, lang), _fmt(r.peak_pct_mvc, "{:.0f}", lang),
                 words.time_cell(r.rise_s, lang), words.time_cell(r.release_s, lang),
                 _fmt(r.rest_residual_pct, "{:.0f}", lang))
        why = "; ".join(f"{words.flag_name(f, lang)}: {words.flag_why(f, lang)}"
                        for f in r.flags)
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells)
                    + f'<td class="l" title="{_e(why)}">{_e(words.flag_names(r.flags, lang))}'
                    "</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


LATENCIES = ("onset_latency_s", "release_latency_s")  # times: "–" where there is none


def _glazer_table(d: dict, lang: str, unit: str) -> str:
    """The Glazer phases and their metrics, in words (``texts.GLAZER``)."""
    rows = []
    for phase, metrics in d.items():
        if isinstance(metrics, dict):
            text = ", ".join(
                f"{words.lookup(words.GLAZER, k, lang)} "
                f"{words.time_cell(v, lang) if k in LATENCIES else _fmt(v, '{:.2f}', lang)}"
                + (f" {words.unit(unit)}" if k in ("mean", "peak_mean") and v is not None
                   else "")
                for k, v in metrics.items())
        elif phase == "reliability_note":
            text = words.lookup(words.GLAZER, "reliability_text", lang)
        else:
            text = _fmt(metrics, "{:.2f}", lang)
        rows.append(f'<tr><td class="l"><b>{_e(words.lookup(words.GLAZER, phase, lang))}</b>'
                    f'</td><td class="l">{_e(text)}</td></tr>')
    return f"<table>{''.join(rows)}</table>"


# --- progress report ------------------------------------------------------------------------
def progress_report(patient: str, prog: Progress, lang: str = "en") -> str:
    if not prog.rows:
        raise InputError(f"no sessions of patient {patient!r} in the history")
    rows = [r for r in prog.rows if r.get("counted", True)]  # the charts: counted sessions
    labels = [words.short_date(r["date"], lang) for r in rows]
    unit = next((r["unit"] for r in rows if r["unit"]), "")
    groups = [protocols.display_name(r["protocol"], lang) for r in rows]
    shares = [None if not r.get("reps") or r.get("reps_met") is None
              else 100.0 * r["reps_met"] / r["reps"] for r in rows]
    charts = [("mvc", [r["mvc"] for r in rows], unit, None),
              ("best_hold", [r["best_hold_s"] for r in rows], "s", groups),
              ("reps_met", shares, "%", groups),
              ("rest_chart", [r.get("rest") for r in rows], unit, None)]
    body = [f'<table class="meta"><tr><td><b>{t("patient", lang)}</b></td>'
            f"<td>{_e(patient)}</td></tr></table>"]
    body.append(f"<h2>{t('adherence', lang)}</h2>" + "".join(
        f"<p>{_e(line)}</p>" for line in words.adherence_lines(prog.adherence, lang)))
    if prog.suggestion:
        s = prog.suggestion
        name = protocols.display_name(s["protocol"], lang)
        body.append(f"<h2>{t('suggestion', lang)}</h2><p>"
                    f"{_e(words.suggestion_text(s, lang, name))}</p>")
    for key, values, u, per in charts:
        body.append(f"<h2>{t(key, lang)}</h2><figure>"
                    f"{series_svg(values, labels, u, lang, per)}"
                    "</figure>")
    head = "".join(f"<th>{t(c, lang)}</th>" for c in PROGRESS_COLUMNS)
    table = ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in progress_cells(r, lang)) + "</tr>"
             for r in prog.rows]
    body.append(f"<h2>{t('sessions', lang)}</h2><table class=\"sessions\"><tr>{head}</tr>"
                f"{''.join(table)}"
                "</table>")
    body.append(f"<h2>{t('noise', lang)}</h2><p>" + _e(t("noise_text", lang, **noise_values()))
                + "</p>")
    return page(f"{t('progress', lang)} - {patient}", "".join(body), lang)


def write(text: str, out: str | Path, force: bool = False, inputs: tuple = ()) -> None:
    """The report as a private file, whole or not at all; never over a file unasked."""
    write_private(out, text, force, inputs)


def to_json(prog: Progress) -> str:
    return json.dumps(finite({"sessions": prog.rows, "adherence": prog.adherence,
                              "suggestion": prog.suggestion}), indent=1, allow_nan=False)
