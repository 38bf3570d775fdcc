"""Plain-text tables the command line prints: a protocol's timeline, contractions,
repetition scores, a patient's progress."""

from __future__ import annotations


def format_timeline(p, lang: str) -> str:
    lines = [f"{p.id}: {p.name[lang]} - {p.description[lang]}", f"source: {p.source}",
             f"{'start s':>8} {'dur s':>6}  {'kind':<8} {'rep':>3}  {'target':<22} cue"]
    for s in p.timeline():
        ph = s.phase
        target = ""
        if ph.kind == "work":
            if ph.target_pct_mvc is not None:
                lo, hi = ph.band_pct_mvc
                target = f"{ph.target_pct_mvc:g}% MVC [{lo:g}-{hi:g}]"
            else:
                target = f"{ph.target_abs:g} {ph.abs_unit}"
            target += f" hold {ph.hold_s:g}s" + (" max" if ph.until_fail else "")
        dur = f"<={ph.duration_s:g}" if ph.until_fail else f"{ph.duration_s:g}"
        cue = ph.cue_nl if lang == "nl" else ph.cue_en
        lines.append(f"{s.start_s:>8.1f} {dur:>6}  {ph.kind:<8} {s.rep or '':>3}  "
                     f"{target:<22} {cue}" + (f"  ({s.posture})" if s.posture else ""))
    lines.append(f"total {p.duration_s:.0f} s (as-long-as-possible holds at their limit)")
    return "\n".join(lines)


def format_reps(result: dict, lang: str) -> str:
    """Per-repetition score table and the summary sentences."""
    p = result["protocol"]
    lines = ["", f"protocol {p['id']} (aligned by {p['alignment']} at {p['start_s']:.2f} s)",
             f"{'rep':>3} {'cue s':>7} {'hold s':>6} {'target':>6} {'met':>4} {'rise s':>6} "
             f"{'rel s':>6} {'peak%':>6} {'rest%':>6}  flags"]
    for r in result["reps"]:
        def f(v, fmt):  # noqa: E306
            return format(v, fmt) if v is not None else "-"
        lines.append(
            f"{r['index']:>3} {r['cue_s']:>7.2f} {r['hold_s']:>6.2f} {r['target_hold_s']:>6.1f} "
            f"{'yes' if r['met'] else 'no':>4} {f(r['rise_s'], '6.2f'):>6} "
            f"{f(r['release_s'], '6.2f'):>6} {f(r['peak_pct_mvc'], '6.0f'):>6} "
            f"{f(r['rest_residual_pct'], '6.0f'):>6}  {' '.join(r['flags'])}")
    lines.append("")
    lines.append(result["summary"]["text_nl" if lang == "nl" else "text_en"])
    return "\n".join(lines)


def format_table(result: dict) -> str:
    """A readable table of channels and contractions."""
    lines = [f"{result['file']}  ({result['duration_s']:.1f} s)"]
    for ch in result["channels"]:
        mvc = "-" if ch["mvc"] is None else f"{ch['mvc']:.1f}"
        lines.append(
            f"  {ch['name']:<12} {ch['kind']:<8} {ch['fs_hz']:g} Hz  rest {ch['baseline']:.2f}"
            f" ± {ch['baseline_sd']:.2f} {ch['unit']}  MVC {mvc}  ({ch['calibration']})"
        )
    lines.append("")
    head = f"{'#':>3} {'channel':<12} {'onset s':>8} {'offset s':>8} {'dur s':>6} "
    head += f"{'peak':>8} {'mean':>8} {'unit':<6} {'%MVC':>5} {'rise s':>6} {'rel s':>6}"
    lines.append(head)
    for i, c in enumerate(result["contractions"], start=1):
        pct = "" if c["peak_pct_mvc"] is None else f"{c['peak_pct_mvc']:.0f}"
        lines.append(
            f"{i:>3} {c['channel']:<12} {c['onset_s']:>8.2f} {c['offset_s']:>8.2f} "
            f"{c['offset_s'] - c['onset_s']:>6.2f} {c['peak']:>8.2f} {c['mean']:>8.2f} "
            f"{c['unit']:<6} {pct:>5} {c['rise_s']:>6.2f} {c['release_s']:>6.2f}"
        )
    if not result["contractions"]:
        lines.append("  (no contractions found)")
    return "\n".join(lines)


def format_progress(patient: str, prog) -> str:
    def f(v, fmt="{:.1f}"):
        return "-" if v is None else fmt.format(v)

    lines = [f"patient {patient}",
             f"{'date':<17} {'protocol':<18} {'MVC':>6} {'best hold':>9} {'met':>6} "
             f"{'quick':>5} {'fatigue':>7} {'rest %':>6}"]
    for r in prog.rows:
        lines.append(f"{r['date']:<17} {r['protocol'] or '-':<18} {f(r['mvc']):>6} "
                     f"{f(r['best_hold_s']):>9} {str(r['reps_met']) + '/' + str(r['reps']):>6} "
                     f"{f(r['quick_count'], '{:.0f}'):>5} {f(r['fatigue_ratio'], '{:.2f}'):>7} "
                     f"{f(r['resting_tone_pct'], '{:.0f}'):>6}")
    a = prog.adherence
    lines.append(f"practice: {a['mean_per_day']} sessions a day over {a['days']} days (asked "
                 f"{a['target_per_day'][0]}-{a['target_per_day'][1]}); "
                 f"{a['days_on_target']} days on target")
    if prog.suggestion:
        s = prog.suggestion
        lines.append(f"suggestion: {s['protocol']} {s['change']} {s['from']:g} -> {s['to']:g} "
                     f"({s['why']}); accept with --accept FILE.toml")
    return "\n".join(lines)
