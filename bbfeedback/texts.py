"""Every word bbfeedback shows a person, in Dutch and English: one catalogue for the session
summaries, the reports, the command-line tables and messages, and the window (``GUI``).

Rules the Dutch follows: the u-form of the leaflets (never "je"), a decimal comma ("0,5 s"),
singular and plural ("1 snelle aanspanning", "3 snelle aanspanningen"), the leaflets' own
words (knijpen, ontspannen, lift, verdieping), and no code names on a screen or in a report:
flags, postures, Glazer and PERFECT keys all have words here. ``tests/test_language.py``
renders everything in both languages and fails on English in the Dutch (and the reverse).

Templates are ``str.format`` strings, formatted per language:

- a number takes the usual spec (``{hold:g}``, ``{pct:.0f}``) and gets a decimal comma in
  Dutch; None or NaN shows as "–";
- a list is joined as "2, 3 en 5" / "2, 3 and 5" (each item with the spec); repetition
  numbers (``Numbers``) beyond a few as runs, "1–12, 15 en 20", and beyond a few runs as a
  count: "{reps:herhaling|herhalingen} {reps}" then reads "990 van de 1000 herhalingen";
- ``{n:aanspanning|aanspanningen}`` picks the singular when ``n`` (or the list's length) is 1.

Adding a flag, a posture, a Glazer/PERFECT key or a summary sentence is one row below.
Only words and their formatting are here: when a summary sentence is said, and with which
numbers, are the rules of ``bbfeedback.exercise.sentences``.
This module imports nothing of bbfeedback: anything may use it.
"""

from __future__ import annotations

import locale
import math
import numbers
import os
import re
import string
from collections.abc import Iterable, Sequence
from typing import Protocol


class ShownRow(Protocol):
    """A score table's row as this module words it (``exercise.shown.ShownRep``)."""

    hold_s: float | None
    target_hold_s: float
    met: bool

    @property
    def judged(self) -> bool: ...

LANGS = ("nl", "en")


def system_language() -> str:
    """'nl' when the system locale is Dutch, else 'en' (the window's default language)."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(key)
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    code = (locale.getlocale()[0] or "").lower()
    return "nl" if code.startswith("nl") else "en"


def pick(pair: Sequence[str], lang: str) -> str:
    """The Dutch or English one of a (nl, en) pair (English for any other language)."""
    return pair[0] if lang == "nl" else pair[1]


# --- labels: reports, tables, GUI ------------------------------------------------------------
CORE: dict[str, tuple[str, str]] = {
    # the session and its facts
    "session_report": ("Sessieverslag", "Session report"),
    "progress": ("Voortgang", "Progress"),
    "patient": ("Patiënt", "Patient"),
    "date": ("Datum", "Date"),
    "protocol": ("Oefening", "Exercise"),
    "posture": ("Houding", "Posture"),
    "device": ("Apparaat", "Device"),
    "calibration": ("Kalibratie", "Calibration"),
    "signal_check": ("Signaal", "Signal"),
    "accepted_wrote": ("{file} geschreven: gebruik het met --protocol {file}",
                       "wrote {file}: load it with --protocol {file}"),
    "mvc_ratio": ("MVC {ratio:.1f} × de rust", "MVC {ratio:.1f} × the rest"),
    "squeezes_line": ("kalibratie-knijpen {levels} {unit} ({agree})",
                      "calibration squeezes {levels} {unit} ({agree})"),
    "squeezes_agree": ("komen overeen", "agree"),
    "squeezes_differ": ("verschillen veel", "differ widely"),
    "one_more_confirmed": ("een vierde keer gevraagd: bevestigd",
                           "a fourth asked for: confirmed"),
    "one_more_unconfirmed": ("een vierde keer gevraagd: niet bevestigd",
                             "a fourth asked for: not confirmed"),
    "calibration_of": ("{channel}: rust {mean:.1f} ± {sd:.1f} {unit}, MVC {mvc:.1f} {unit}",
                       "{channel}: rest {mean:.1f} ± {sd:.1f} {unit}, MVC {mvc:.1f} {unit}"),
    "summary": ("Samenvatting", "Summary"),
    "for_patient": ("Voor de patiënt", "For the patient"),
    "trace": ("Verloop", "Trace"),
    "legend": ("groen: doelband; blauw: spieractiviteit (RMS); lijnen: begin en einde van de "
               "aanspanningen; grijs: storing in het signaal, niet beoordeeld",
               "green: target band; blue: muscle activity (RMS); lines: start and end of the "
               "contractions; grey: a disturbed signal, not judged"),
    "reps": ("Herhalingen", "Repetitions"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "floor": ("Verdieping", "Floor"),
    "source": ("bron", "source"),
    # the columns of a repetition table
    "col_rep": ("Herh.", "Rep"),
    "col_cue": ("Start (s)", "Cue (s)"),
    "col_held": ("Vastgehouden (s)", "Held (s)"),
    "col_target": ("Doel (s)", "Target (s)"),
    "col_met": ("Gehaald", "Met"),
    "col_peak": ("Piek (% MVC)", "Peak (% MVC)"),
    "col_rise": ("Aanspantijd (s)", "Rise time (s)"),
    "col_release": ("Ontspantijd (s)", "Release time (s)"),
    # per repetition the times run from the cue (Nu-Tek): the reaction is part of them, so
    # they are not the contraction table's rise and release of the muscle itself
    "col_rep_rise": ("Aanspantijd na signaal (s)", "Rise after cue (s)"),
    "col_rep_release": ("Ontspantijd na signaal (s)", "Release after cue (s)"),
    "col_rest": ("Rust (% MVC)", "Rest (% MVC)"),
    "col_flags": ("Opmerkingen", "Flags"),
    # progress over sessions
    "mvc": ("MVC (maximale aanspanning)", "MVC (maximal contraction)"),
    "best_hold": ("Langst vastgehouden (s)", "Longest hold (s)"),
    "reps_met": ("Herhalingen gehaald (%)", "Repetitions met (%)"),
    "tone": ("Rusttonus (% MVC)", "Resting tone (% MVC)"),
    "quick": ("Snelle aanspanningen", "Quick contractions"),
    "fatigue": ("Spieractiviteit laatste/eerste", "Muscle activity last/first"),
    "sessions": ("Sessies", "Sessions"),
    "col_mvc": ("MVC", "MVC"),  # the progress table's short headings
    "col_best_hold": ("Langst vast (s)", "Best hold (s)"),
    "col_quick": ("Snel (aantal)", "Quick (count)"),
    "col_fatigue": ("Laatste ÷ eerste", "Last ÷ first"),
    "col_mvc_change": ("MVC: verandering", "MVC: change"),
    "col_rest_change": ("Rust: verandering", "Rest: change"),
    "noise": ("Meetfout", "Measurement error"),
    "col_mvc_first": ("MVC: t.o.v. eerste", "MVC: vs first"),
    "col_mvc_trend": ("MVC: verloop", "MVC: trend"),
    "col_rest_level": ("Rust", "Rest"),
    "col_rest_first": ("Rust: t.o.v. eerste", "Rest: vs first"),
    "col_rest_trend": ("Rust: verloop", "Rest: trend"),
    "rest_chart": ("Rust (in de eenheid van het apparaat)", "Rest (in the device's unit)"),
    "noise_text": ("Elke sessie wordt vergeleken met de eerste sessie van dezelfde oefening op "
                   "hetzelfde apparaat en met de vorige; het verloop is de helling over alle "
                   "sessies met een betrouwbaarheidsinterval van 95 %. Een verandering is "
                   "echt als ze groter is dan de kleinste aantoonbare verandering. EMG: MVC "
                   "{mvc:g} % van de eerdere waarde; rust {tone:g} % en minstens {floor:g} µV, "
                   "gemeten in µV, nooit als % MVC (Koenig 2017). Druk (Tennfjord 2017): "
                   "knijpkracht boven rust {p_mvc:g} cmH₂O, rust {p_rest:g} cmH₂O. Een verloop "
                   "is echt als het interval 0 uitsluit en de verandering over die tijd groter "
                   "is dan de kleinste aantoonbare verandering; twee vlakke reeksen met één "
                   "echte sprong ertussen heten een sprong. Waarden in µV of cmH₂O worden "
                   "alleen op hetzelfde apparaat vergeleken. Langst vastgehouden, snelle "
                   "aanspanningen en spieractiviteit laatste ÷ eerste: geen meetfout bekend, "
                   "niet beoordeeld.",
                   "Every session is compared with the first session of the same exercise on "
                   "the same device and with the previous one; the trend is the slope over all "
                   "sessions with its 95 % confidence interval. A change is real when it is "
                   "larger than the minimal detectable change. EMG: MVC {mvc:g} % of the "
                   "earlier value; rest {tone:g} % and at least {floor:g} µV, measured in µV, "
                   "never as % MVC (Koenig 2017). Pressure (Tennfjord 2017): squeeze above "
                   "rest {p_mvc:g} cmH₂O, rest {p_rest:g} cmH₂O. A trend is real when its "
                   "interval excludes 0 and the change over its span exceeds the minimal "
                   "detectable change; two flat runs with one real step between them are "
                   "called a step. Values in µV or cmH₂O are compared on the same device "
                   "only. Longest hold, quick contractions and muscle activity last ÷ first: "
                   "no known measurement error, not judged."),
    "noise_line": ("meetfout: echt bij meer dan {mvc:g} % (MVC) of {tone:g} % en minstens "
                   "{floor:g} µV (rust) (Koenig 2017); druk: {p_mvc:g} cmH₂O (knijpkracht), "
                   "{p_rest:g} cmH₂O (rust) (Tennfjord 2017); t.o.v. de eerste sessie op "
                   "hetzelfde apparaat; verloop: helling met 95 %-interval",
                   "measurement error: real beyond {mvc:g} % (MVC) or {tone:g} % and at least "
                   "{floor:g} µV (rest) (Koenig 2017); pressure: {p_mvc:g} cmH₂O (squeeze), "
                   "{p_rest:g} cmH₂O (rest) (Tennfjord 2017); vs the first session on the "
                   "same device; trend: slope with 95 % interval"),
    "adherence": ("Oefentrouw", "Practice"),
    "adherence_text": ("{mean:g} {mean:sessie|sessies} per dag (gevraagd: {lo} tot {hi}); "
                       "{on} van de {days} {days:dag|dagen} op doel",
                       "{mean:g} {mean:session|sessions} a day (asked: {lo} to {hi}); "
                       "{on} of {days} {days:day|days} on target"),
    "suggestion": ("Voorstel", "Suggestion"),
    "suggest_hold_s": ("{protocol}: vasthouden {old:g} → {new:g} s",
                       "{protocol}: hold {old:g} → {new:g} s"),
    "suggest_target_pct_mvc_delta": ("{protocol}: doel {new:+g} % MVC",
                                     "{protocol}: target {new:+g} % MVC"),
    "suggest_why": ("de laatste twee keer {shares} van de herhalingen gehaald",
                    "{shares} of the repetitions met in the last two sessions"),
    "suggest_why_low": ("de laatste twee keer maar {shares} van de herhalingen gehaald",
                        "only {shares} of the repetitions met in the last two sessions"),
    "suggest_accept": ("overnemen met --accept BESTAND.toml", "accept with --accept FILE.toml"),
    "adherence_a": ("folder A: {mean:g} keer per dag geoefend (gevraagd: {lo} tot {hi} keer); "
                    "{on} van de {days} {days:dag|dagen} op doel",
                    "leaflet A: practised {mean:g} {mean:time|times} a day (asked: {lo} to "
                    "{hi}); {on} of {days} {days:day|days} on target"),
    "adherence_b": ("folder B: geoefend op {n} van de {days} {days:dag|dagen} (de folder "
                    "noemt geen aantal per dag)",
                    "leaflet B: practised on {n} of {days} {days:day|days} (the leaflet gives "
                    "no number a day)"),
    "adherence_other": ("eigen oefeningen: geoefend op {n} van de {days} {days:dag|dagen}",
                        "own exercises: practised on {n} of {days} {days:day|days}"),
    "adherence_visits": ("{n} {n:bezoek|bezoeken} in de praktijk, niet als oefenen thuis "
                         "geteld",
                         "{n} clinic {n:visit|visits}, not counted as home practice"),
    "adherence_none": ("geen oefenen thuis vastgelegd", "no home practice recorded"),
    "suggest_repetitions": ("{protocol}: {old:g} → {new:g} herhalingen",
                            "{protocol}: {old:g} → {new:g} repetitions"),
    "suggest_max_s": ("{protocol}: zo lang mogelijk vasthouden, nu tot {new:g} s (was {old:g} s)",
                      "{protocol}: hold as long as possible, now up to {new:g} s (was "
                      "{old:g} s)"),
    "suggest_floors_pct_mvc": ("{protocol}: verdiepingen {old:g} → {new:g} % MVC",
                               "{protocol}: floors {old:g} → {new:g} % MVC"),
    "suggest_why_limit": ("de laatste twee keer volgehouden tot de grens van {limit:g} s",
                          "held up to the {limit:g} s limit in the last two sessions"),
    "suggest_why_quick_end": ("de laatste twee keer tot het eind geteld zonder te verslappen",
                              "counted to the end without fading in the last two sessions"),
    # Glazer and PERFECT
    "glazer": ("Glazer-protocol", "Glazer protocol"),
    "perfect": ("PERFECT-schema", "PERFECT scheme"),
    "perfect_line": ("E (uithoudingsvermogen) {E:.0f} s · R (herhalingen) {R} · "
                     "F (snelle aanspanningen) {F} · P (knijpkracht) {P}",
                     "E (endurance) {E:.0f} s · R (repetitions) {R} · "
                     "F (fast contractions) {F} · P (power) {P}"),
    "p_note": ("P (knijpkracht) is een graad bij inwendig onderzoek; uit EMG alleen % MVC.",
               "P (power) is a palpation grade; EMG gives only % MVC."),
    "p_note_pressure": ("P geschat uit de knijpdruk (indeling van Angelo 2017, verschilt per "
                        "apparaat).",
                        "P estimated from the squeeze pressure (Angelo 2017 bins, "
                        "device-specific)."),
    # the command-line tables
    "col_start": ("start (s)", "start (s)"),
    "col_duration": ("duur (s)", "dur. (s)"),
    "col_kind": ("fase", "phase"),
    "col_target_level": ("doel", "target"),
    "col_cue_word": ("aanwijzing", "cue"),
    "hold_for": ("{hold:g} s vasthouden", "hold {hold:g} s"),
    "as_long_as_possible": ("zo lang mogelijk", "as long as possible"),
    "quick_target": ("snel", "quick"),
    "incomplete_mark": (" (onvolledig)", " (incomplete)"),
    "total": ("totaal {s:.0f} s", "total {s:.0f} s"),
    "total_at_most": ("totaal ten hoogste {s:.0f} s (als elke zo-lang-mogelijk-oefening "
                      "haar maximum duurt)",
                      "total at most {s:.0f} s (when every as-long-as-possible hold lasts to "
                      "its limit)"),
    "calibration_first": ("eerst de kalibratie: {rest:g} s rust, dan {what} ({s:.0f} s; een "
                          "vierde keer als de drie veel verschillen)",
                          "first the calibration: {rest:g} s rest, then {what} ({s:.0f} s; a "
                          "fourth time when the three differ widely)"),
    "squeezes_max": ("3 keer maximaal knijpen", "3 maximal squeezes"),
    "squeezes_gentle": ("3 keer rustig knijpen", "3 gentle squeezes"),
    "calibration_rest_only": ("eerst de kalibratie: {rest:g} s rust", "first the calibration: "
                              "{rest:g} s rest"),
    "total_with_calibration": ("{total}; met de kalibratie {s:.0f} s",
                               "{total}; with the calibration {s:.0f} s"),
    "disk_full": ("de schijf is vol", "the disk is full"),
    "disk_refused": ("de schijf weigerde te schrijven ({why})", "the disk refused a write ({why})"),
    "disk_stopped": ("{why}: de opname stopte bij {at} s; {kept}",
                     "{why}: the recording stopped at {at} s; {kept}"),
    "disk_kept": ("de {kept} s op schijf blijven bewaard als geldige opname in {path}",
                  "the {kept} s on disk are kept as a valid recording in {path}"),
    "disk_left": ("het bestand blijft zoals het is: voer bbfeedback recover {path} uit als er "
                  "weer ruimte is",
                  "the file is left as it is: run bbfeedback recover {path} when the disk is "
                  "back"),
    "disk_none": ("er stond nog niets op schijf, dus er is geen bestand",
                  "nothing was on disk yet, so no file is left"),
    "stopped_in_calibration_at": (
        "de sessie is tijdens de kalibratie gestopt, op {t} s, dus er zijn geen herhalingen "
        "om te rapporteren; de kalibratie had: {had}",
        "the session was stopped during its calibration, at {t} s, so there are no "
        "repetitions to report; the calibration had: {had}"),
    "cal_had_rest": ("rust vanaf {t} s", "rest from {t} s"),
    "cal_had_squeezes": ("{n} kalibratieknijp(en), de eerste vanaf {t} s",
                         "{n} calibration squeeze(s), the first from {t} s"),
    "cal_had_nothing": ("niets (gestopt voor ze begon)", "nothing (stopped before it began)"),
    "cal_had_unfinished": ("niets ervan afgemaakt: geen rustniveau of MVC",
                           "none of it finished: no rest level or MVC"),
    "stopped_in_calibration": (
        "de sessie is tijdens de kalibratie gestopt: er is geen herhaling bereikt, dus er is "
        "niets gescoord",
        "the session was stopped during its calibration: no repetition was reached, so none "
        "is scored"),
    "by_contractions": ("Elke herhaling is op de eigen aanspanning gezet{why}.",
                        "Each repetition was matched to the patient's own contraction{why}."),
    "rhythm_did_not_fit": (": de opname heeft geen aanwijzingen en het ritme van de oefening "
                           "paste niet",
                           ": the recording has no cues and the exercise's rhythm did not fit"),
    "aligned": ("oefening {protocol} (gelijkgezet op {how}, bij {start:.2f} s)",
                "exercise {protocol} (aligned by {how} at {start:.2f} s)"),
    "channel": ("kanaal", "channel"),
    "onset": ("begin (s)", "onset (s)"),
    "offset": ("einde (s)", "offset (s)"),
    "peak": ("piek", "peak"),
    "mean": ("gemiddeld", "mean"),
    "unit": ("eenheid", "unit"),
    "no_contractions": ("(geen aanspanningen gevonden)", "(no contractions found)"),
    "rest_level": ("rust", "rest"),
    "practice_line": ("oefentrouw: {text}", "practice: {text}"),
    "suggestion_line": ("voorstel: {text}", "suggestion: {text}"),
}

# phase kinds of a protocol's timeline
KINDS: dict[str, tuple[str, str]] = {
    "work": ("aanspannen", "work"),
    "rest": ("rust", "rest"),
    "baseline": ("rustmeting", "baseline"),
}

# a change between two sessions against its measurement error (``app/change.py``)
CHANGES: dict[str, tuple[str, str]] = {
    "improved": ("echte verbetering", "real improvement"),
    "declined": ("echte achteruitgang", "real decline"),
    "within_error": ("binnen de meetfout", "within measurement error"),
    "other_device": ("ander apparaat: niet vergeleken", "other device: not compared"),
    "device_unknown": ("apparaat onbekend: niet vergeleken", "device unknown: not compared"),
    "not_measured": ("MVC niet gemeten: niet beoordeeld", "MVC not measured: not judged"),
    "no_figure": ("geen meetfout bekend: niet beoordeeld",
                  "no known measurement error: not judged"),
    "missing": ("–", "–"),
    "first": ("beginmeting", "baseline"),
    "higher": ("echte stijging", "real increase"),
    "lower": ("echte daling", "real decrease"),
}

# a trend over sessions against its measurement error (``app/change.py``); the other codes
# (device_unknown, not_measured, no_figure, missing) are the words of ``CHANGES``
TRENDS: dict[str, tuple[str, str]] = {
    "improving": ("gaat vooruit", "improving"),
    "declining": ("gaat achteruit", "declining"),
    "rising": ("stijgt", "rising"),
    "falling": ("daalt", "falling"),
    "no_trend": ("geen trend: binnen de meetfout", "no trend: within measurement error"),
    "too_few": ("nog te weinig sessies", "too few sessions yet"),
    "steady": ("gestaag", "steadily"),
    "step": ("in één sprong", "in one step"),
    "per_week": ("per week", "a week"),
    "per_session": ("per sessie", "a session"),
}

# why a suggestion cannot be accepted (``app/history.py``, ``suggest``)
SUGGEST_REASONS: dict[str, tuple[str, str]] = {
    "breath_paced": ("niets te veranderen: de aanspanning volgt de adem",
                     "nothing to change: the lift follows the breath"),
    "fixed_count": ("niets te veranderen: de folder vraagt 2 tellen; langer vasthouden is "
                    "oefening 3 (Langer aanspannen)",
                    "nothing to change: the leaflet asks 2 counts; longer holds are exercise 3 "
                    "(Longer hold)"),
    "longest_hold": ("vasthouden staat al op {hold:g} s, het meeste voor deze oefening",
                     "the hold is already {hold:g} s, the most for this exercise"),
    "top_floor": ("de bovenste verdieping staat al op {pct:g} % MVC",
                  "the top floor is already at {pct:g} % MVC"),
}

# the kind of a channel
CHANNEL_KINDS: dict[str, tuple[str, str]] = {
    "emg": ("EMG", "EMG"),
    "pressure": ("druk", "pressure"),
}

# where a channel's calibration came from
CALIBRATION_SOURCES: dict[str, tuple[str, str]] = {
    "rest": ("rust", "rest"),
    "estimated": ("geschat uit de opname", "estimated from the recording"),
    "session": ("kalibratie van de sessie", "the session's calibration"),
    "session-gentle": ("rustig aangespannen, MVC geschat", "gentle squeezes, MVC estimated"),
    "session-rest": ("alleen rust, geen MVC", "rest only, no MVC"),
    "session-previous": ("MVC van de vorige sessie", "MVC of the previous session"),
    "session-visit": ("MVC van eerder dit bezoek", "MVC from earlier this visit"),
}

# how a recording was aligned to its protocol (``analyze``)
ALIGNMENTS: dict[str, tuple[str, str]] = {
    "cue annotations": ("de opgenomen aanwijzingen", "cue annotations"),
    "first contraction": ("de eerste aanspanning", "first contraction"),
    "contractions": ("de aanspanningen zelf", "the contractions themselves"),
    "contractions, rhythm did not fit": (
        "de aanspanningen zelf (het ritme van de oefening paste niet)",
        "the contractions themselves (the exercise's rhythm did not fit)"),
    "--start-s": ("--start-s", "--start-s"),
}

# the patient's posture: of the session (device) and of a protocol's section (b1)
POSTURES: dict[str, tuple[str, str]] = {
    "lying": ("liggend", "lying"),
    "sitting": ("zittend", "sitting"),
    "standing": ("staand", "standing"),
    "upright": ("rechtop zittend", "sitting upright"),
    "rounded back": ("bolle rug", "rounded back"),
    "hollow back": ("holle rug", "hollow back"),
}

# flag code: (Dutch name, English name, Dutch why, English why) -- the why is the GUI's tooltip
FLAGS: dict[str, tuple[str, str, str, str]] = {
    "no_contraction": (
        "geen aanspanning", "no contraction",
        "in de aanspanfase werd geen aanspanning gemeten",
        "no contraction reached the detector threshold during the work phase"),
    "late_onset": (
        "laat begonnen", "late onset",
        "de aanspanning kwam pas ruim na het startsignaal op gang",
        "the contraction got going well after the cue"),
    "early_onset": (
        "te vroeg begonnen", "early onset",
        "de aanspanning begon al in de rust vóór het startsignaal",
        "the contraction began in the rest, before the cue"),
    # PERFECT's R (``summary.perfect``: a hold not counted, as the table's remark)
    "shorter_than_e": (
        "korter dan E", "shorter than E",
        "deze aanspanning duurde korter dan de eigen E (PERFECT), dus telt niet voor R",
        "this hold lasted less than her own E (PERFECT), so it does not count for R"),
    "weaker_than_first": (
        "zwakker dan de eerste", "weaker than the first",
        "deze aanspanning bleef onder het deel van de eerste dat R vraagt (PERFECT), "
        "dus telt niet voor R",
        "this hold stayed below the share of the first that R asks (PERFECT), "
        "so it does not count for R"),
    "short_hold": (
        "te kort vastgehouden", "short hold",
        "korter in de doelband gebleven dan de doeltijd",
        "held inside the target band for less than the target time"),
    "incomplete_relaxation": (
        "onvolledig ontspannen", "incomplete relaxation",
        "na de aanspanning niet terug naar het eigen rustniveau",
        "did not get back to the own resting level after the contraction"),
    "slow_release": (
        "traag ontspannen", "slow release",
        "na het ontspansignaal duurde het loslaten meer dan 2 seconden",
        "letting go took more than 2 seconds after the relax cue"),
    "co_contraction": (
        "buikspieren spanden mee", "abdominal co-contraction",
        "de buikspieren (tweede kanaal) spanden duidelijk mee met de bekkenbodem",
        "the abdominal (accessory) channel rose clearly with the pelvic floor"),
    "signal_gap": (
        "signaal onderbroken", "signal gap",
        "tijdens deze herhaling gingen metingen verloren",
        "samples were lost during this repetition"),
    "saturation": (
        "signaal afgekapt", "clipped signal",
        "het ruwe signaal zat tegen de grens van de versterker",
        "the raw signal was clipped at the amplifier's limit"),
    "too_strong": (
        "te hard aangespannen", "too strong",
        "een rustige oefening werd te krachtig gedaan",
        "a gentle exercise was done too strongly"),
    "stopped": (
        "onderbroken", "stopped",
        "de sessie werd tijdens deze herhaling gestopt: niet beoordeeld en niet meegeteld",
        "the session was stopped during this repetition: not judged, not counted"),
    "too_weak": (
        "te zwak", "too weak",
        "de snelle aanspanning bleef onder de doelband",
        "the quick squeeze stayed below the target band"),
    "straining": (
        "persen", "straining",
        "de druk steeg zonder bijpassende bekkenbodemactiviteit: niet persen, adem niet "
        "inhouden",
        "pressure rose without matching pelvic-floor activity: no pushing, no holding the "
        "breath"),
    "not_judged": (
        "niet beoordeeld: signaal verstoord", "not judged: signal disturbed",
        "het signaal was hier niet van de spier (elektrode los, kabel, piek, afkapping, "
        "lichtnet of beweging): niet beoordeeld en niet meegeteld",
        "the signal here was not the muscle's (electrode off, cable, spike, clipping, mains "
        "hum or movement): not judged, not counted"),
    "lead_off": (
        "elektrode los", "electrode off",
        "een vlakke lijn: de elektrode had geen contact",
        "a flat line: the electrode lost contact"),
    "spikes": (
        "pieken", "spikes",
        "korte pieken in het signaal (statische ontlading, stekker)",
        "short spikes in the signal (static discharge, connector)"),
    "burst": (
        "kabelstoring", "cable artefact",
        "een korte uitschieter ver boven de eigen maximale aanspanning: geen spier",
        "a short burst far above the patient's own maximum: not the muscle"),
    "mains": (
        "storing door het lichtnet", "mains interference",
        "brom van het lichtnet, veel sterker dan het spiersignaal: hier niet te meten "
        "(kijk of de kabels en de plakelektrode goed vastzitten)",
        "mains hum far stronger than the muscle signal: not measurable here (check that the "
        "cables and the skin electrode are firmly attached)"),
    "motion": (
        "bewegingsstoring", "movement artefact",
        "een trage uitslag door beweging van de sonde of de kabel, veel groter dan het "
        "spiersignaal",
        "a slow swing from the probe or the cable moving, far larger than the muscle signal"),
    "possible_straining": (
        "mogelijk geperst", "possible straining",
        "de druk steeg traag, zoals bij persen; alleen druk kan persen en aanspannen niet "
        "onderscheiden: kijk of de sonde naar binnen beweegt",
        "the pressure rose slowly, as in a push; pressure alone cannot tell a push from a "
        "squeeze: check that the probe moves inwards"),
    "knack_late": (
        "te laat geknepen bij het hoesten", "squeezed too late for the cough",
        "de bekkenbodem spande pas aan nadat het hoesten (buikspieren of druk) begon: eerst "
        "knijpen, dan hoesten",
        "the pelvic floor came on only after the cough's abdominal or pressure rise: squeeze "
        "first, then cough"),
    "tense_rest": (
        "gespannen in rust", "tense at rest",
        "in de rustfase boven het rustniveau van vooraf of boven de absolute grens",
        "during the rest above the pre-session rest or above the absolute limit"),
}

# the Glazer summary's phases and metrics (report table)
GLAZER: dict[str, tuple[str, str]] = {
    "pre-baseline": ("Rust vooraf", "Rest before"),
    "phasic": ("Snelle aanspanningen (fasisch)", "Quick contractions (phasic)"),
    "tonic": ("Aanspannen en vasthouden (tonisch)", "Contract and hold (tonic)"),
    "endurance": ("Uithoudingsvermogen", "Endurance"),
    "post-baseline": ("Rust achteraf", "Rest after"),
    "post_vs_pre": ("Rust achteraf ÷ vooraf", "Rest after ÷ before"),
    "reliability_note": ("Betrouwbaarheid", "Reliability"),
    "reliability_text": ("aanspan- en ontspantijden en de mediane frequentie zijn van dag tot "
                         "dag slecht herhaalbaar: vergelijk eerst gemiddelde en piek",
                         "latencies and median frequency have poor between-day "
                         "reliability: compare mean and peak amplitudes first"),
    "mean": ("gemiddeld", "mean"),
    "peak_mean": ("gemiddelde piek", "mean peak"),
    "peak_pct_mvc": ("piek (% MVC)", "peak (% MVC)"),
    "cv_pct": ("variatie (CV, %)", "variability (CV, %)"),
    "median_frequency_hz": ("mediane frequentie (Hz)", "median frequency (Hz)"),
    "onset_latency_s": ("aanspantijd (s)", "onset latency (s)"),
    "release_latency_s": ("ontspantijd (s)", "release latency (s)"),
    "ratio_last_first_10s": ("laatste ÷ eerste 10 s", "last ÷ first 10 s"),
    "mdf_slope_hz_per_s": ("helling mediane frequentie (Hz/s)",
                           "median-frequency slope (Hz/s)"),
    "mdf_slope_pct_per_s": ("helling mediane frequentie (%/s)",
                            "median-frequency slope (%/s)"),
}


# --- the window's own words (gui/) ----------------------------------------------------------
GUI: dict[str, tuple[str, str]] = {
    "title": ("bbfeedback - bekkenbodem myofeedback", "bbfeedback - pelvic-floor myofeedback"),
    "port": ("Poort", "Port"),
    "patient_code": ("Patiënt (code)", "Patient (code)"),
    "col_phase": ("Fase", "Phase"),
    "stopped_early": ("sessie gestopt, niet afgemaakt", "session stopped before its end"),
    "history_added": ("Opgeslagen in de geschiedenis van de patiënt.",
                      "Saved in the patient's history."),
    "history_not_added": ("Niet in de geschiedenis opgeslagen", "Not saved in the history"),
    "sound_tone": ("Toon volgt het aanspannen", "Tone follows the squeeze"),
    "sound_cues": ("Geluid bij elke aanwijzing", "Sound at each cue"),
    "volume": ("Volume", "Volume"),
    "show_raw": ("ruw signaal tonen (met basislijn)", "show raw signal (with baseline)"),
    "band_axis": ("gefilterd µV", "band-passed µV"),
    "legend_band": ("doelband", "target band"),
    "legend_thresholds": ("aan/uit-drempel", "on/off threshold"),
    "legend_onset": ("begin aanspanning", "contraction onset"),
    "legend_offset": ("einde aanspanning", "contraction offset"),
    "legend_artefact": ("storing, niet beoordeeld", "artefact, not judged"),
    "rep_of": ("herhaling {k} van {n}", "repetition {k} of {n}"),
    "target_box": ("doel", "target"),
    "col_reps_short": ("Keer", "Times"),
    "col_seconds": ("Tijd (s)", "Time (s)"),
    "col_target_pct": ("Doel (% MVC)", "Target (% MVC)"),
    "calibration_mode": ("Kalibratie", "Calibration"),
    "calib_protocol": ("zoals de oefening (of MVC van eerder dit bezoek)",
                       "as the exercise says (or this visit's MVC)"),
    "calib_max": ("3 keer maximaal knijpen", "3 maximal squeezes"),
    "calib_gentle": ("3 keer rustig knijpen, MVC geschat", "3 gentle squeezes, MVC estimated"),
    "calib_none": ("alleen rust, geen MVC (µV)", "rest only, no MVC (µV)"),
    "calib_previous": ("MVC van de vorige sessie", "MVC of the previous session"),
    "start": ("Start", "Start"),
    "stop": ("Stop", "Stop"),
    "record": ("Opnemen", "Record"),
    "open": ("Opname openen…", "Open recording…"),
    "play": ("Afspelen", "Play"),
    "pause": ("Pauze", "Pause"),
    "speed": ("Snelheid", "Speed"),
    "patient_view": ("Patiëntscherm", "Patient view"),
    "language": ("Taal", "Language"),
    "not_calibrated": ("nog niet gekalibreerd", "not calibrated yet"),
    "connected": ("verbonden", "connected"),
    "connecting": ("verbinden…", "connecting…"),
    "reconnecting": ("verbinding kwijt, opnieuw verbinden…", "connection lost, reconnecting…"),
    "lost": ("verloren", "lost"),
    "samples": ("metingen", "samples"),
    "idle": ("klaar om te starten", "ready to start"),
    "finished": ("sessie klaar", "session finished"),
    "replaying": ("terugkijken", "replay"),  # not "herhaling": that is a repetition
    "done": ("Klaar! Nu helemaal ontspannen.", "Done! Now relax completely."),
    "recording_to": ("opname naar", "recording to"),
    "saved_to": ("opgeslagen in", "saved in"),
    "anonymous": ("Zonder patiëntcode: anoniem opgenomen, niet in een geschiedenis.",
                  "No patient code: recorded anonymously, not in a history."),
    "replay_of": ("Opname {f}: patiënt {p}, {d}, {o}, houding {h}",
                  "Recording {f}: patient {p}, {d}, {o}, posture {h}"),
    "scores_same": ("opnieuw gescoord: gelijk aan de opname", "re-scored: same as recorded"),
    "scores_differ": ("opnieuw gescoord: anders dan de opname (zie de tabel)",
                      "re-scored: differs from the recording (see the table)"),
    "rescored": ("opnieuw gescoord", "re-scored"),
    "as_recorded": ("zoals opgenomen", "as recorded"),
    "history_not_scored": ("Niet in de geschiedenis opgeslagen: gestopt voordat er een "
                           "herhaling was (tijdens de kalibratie)",
                           "Not added to the history: stopped before any repetition (during "
                           "the calibration)"),
    "history_copy": ("Niet in de geschiedenis opgeslagen: dezelfde meting staat er al in "
                     "(als {f})", "Not added to the history: the same measurement is there "
                     "already (as {f})"),
    "cannot_start": ("Kan niet starten", "Cannot start"),
    "cannot_open": ("Kan de opname niet openen", "Cannot open the recording"),
    "no_sound": ("Geen geluid op deze computer", "No sound on this computer"),
    "recover": ("Onafgemaakte opname herstellen", "Recover unfinished recording"),
    "time_axis": ("s (0 = nu)", "s (0 = now)"),
    # the patient view: no units, no axes; what to do and how it went, in plain words
    "wait_start": ("Wacht op de start", "Wait for the start"),
    "replay_speed": ("Snelheid van het terugkijken", "Replay speed"),
    "now_mark": ("nu", "now"),
    "praise": ("Herhaling {n}: goed zo!", "Repetition {n}: well done!"),
    "try_again": ("Herhaling {n}: probeer het nog eens", "Repetition {n}: try it once more"),
    "let_go": ("Herhaling {n}: laat daarna helemaal los", "Repetition {n}: let go completely "
               "afterwards"),
    "patient_title": ("Patiëntscherm", "Patient view"),
    "raw_axis": ("ruw µV", "raw µV"),
}
TEXTS = CORE | GUI  # one lookup for every word (``text``); no key is in both (tested)


# --- command-line messages --------------------------------------------------------------------
# An error is raised in English (the words of the code and of argparse) and shown in the
# chosen language: like a gettext catalogue keyed by its English text, each row is the whole
# English message as a pattern and its Dutch; ``{name}`` in the Dutch takes the pattern's
# group, translated in turn (an option's complaint inside argparse's "argument X: ...").
# A message without a row stays English. Rows: what a physiotherapist meets in record, gui,
# report, history, protocols and ports; tests/test_language.py runs them through the CLI.
ERROR_WORD = ("fout", "error")
# the word before a command-line line of each logging level (``app/options.py``)
LEVEL_WORDS: dict[str, tuple[str, str]] = {"warning": ("waarschuwing", "warning"),
                                           "error": ERROR_WORD, "info": ("info", "info"),
                                           "note": ("let op", "note")}
SEE_HELP = ("zie", "see")


def _template_row(english: str, dutch: str) -> tuple[str, str]:
    """A ``MESSAGES`` row from a pair of ``format_text`` templates ("the hold is already
    {hold:g} s"): each ``{name:spec}`` a group of one word, shown as given."""
    parts = re.split(r"\{(\w+)(?::[^}]*)?\}", english)
    pattern = "".join(re.escape(t) if i % 2 == 0 else rf"(?P<{t}>\S+)"
                      for i, t in enumerate(parts))
    return pattern, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", dutch)


MESSAGES: tuple[tuple[str, str], ...] = (
    # argparse and the option types (app/options.py)
    (r"the following arguments are required: (?P<a>.+)", "deze opties ontbreken: {a}"),
    (r"argument (?P<a>\S+): invalid choice: (?P<v>.+) \(choose from (?P<c>.+)\)",
     "{a}: {v} bestaat niet (kies uit {c})"),
    (r"unrecognized arguments: (?P<a>.+)", "onbekende opties: {a}"),
    (r"argument (?P<a>\S+): expected one argument", "{a}: hier hoort een waarde bij"),
    (r"argument (?P<a>\S+): (?P<why>.+)", "{a}: {why}"),
    (r"not a number: (?P<v>.+)", "geen getal: {v}"),
    (r"must be a whole number: (?P<v>.+)", "moet een geheel getal zijn: {v}"),
    (r"must be a finite number: (?P<v>.+)", "moet een eindig getal zijn: {v}"),
    (r"must be a positive number: (?P<v>.+)", "moet een positief getal zijn: {v}"),
    (r"must be a finite number from (?P<lo>\S+) to (?P<hi>\S+): (?P<v>.+)",
     "moet een getal van {lo} tot {hi} zijn: {v}"),
    (r"must be a whole number from (?P<lo>\S+) to (?P<hi>\S+): (?P<v>.+)",
     "moet een geheel getal van {lo} tot {hi} zijn: {v}"),
    (r"must be a fraction between 0 and 1: (?P<v>.+)", "moet een deel tussen 0 en 1 zijn: {v}"),
    # files and folders
    (r"no such file", "dit bestand bestaat niet"),
    (r"no such device file", "dit apparaatbestand bestaat niet"),
    (r"not a regular file", "geen gewoon bestand"),
    (r"empty file", "leeg bestand"),
    (r"folder does not exist", "deze map bestaat niet"),
    (r"folder is not writable", "in deze map mag niet geschreven worden"),
    (r"is a symbolic link; give the real path", "is een snelkoppeling; geef de echte plaats"),
    (r"unknown file type (?P<t>.+); use \.edf, \.bdf or \.csv",
     "onbekend soort bestand {t}; gebruik .edf, .bdf of .csv"),
    (r"not an EDF/BDF file \((?P<why>.+)\)", "geen EDF/BDF-bestand ({why})"),
    (r"not a readable EDF/BDF file \((?P<why>.+)\)", "geen leesbaar EDF/BDF-bestand ({why})"),
    (r"header unreadable: (?P<why>.+)", "header onleesbaar: {why}"),
    (r"header unreadable(?P<rest>.*)", "header onleesbaar{rest}"),
    (r"header size wrong", "header heeft de verkeerde lengte"),
    (r"was not closed: its header says it is still being recorded \(it is, or its recorder "
     r"stopped\); run `bbfeedback recover (?P<f>.+)`",
     "is niet afgesloten: volgens de header loopt de opname nog (of stopte de opname "
     "onverwacht); herstel het met `bbfeedback recover {f}`"),
    (r"is still being recorded \(process (?P<pid>\d+)\); stop that recording first",
     "wordt nog opgenomen (proces {pid}); stop eerst die opname"),
    (r"is still being recorded \(process (?P<pid>\d+)\); export it when the recording has "
     r"ended", "wordt nog opgenomen (proces {pid}); exporteer het als de opname klaar is"),
    (r"cannot write \((?P<why>.+)\); nothing was written",
     "kan niet schrijven ({why}); er is niets geschreven"),
    # devices
    (r"unknown device (?P<d>.+) \(use one of (?P<c>.+)\)",
     "onbekend apparaat {d} (kies uit {c})"),
    (r"no such port \(see bbfeedback ports\)", "deze poort bestaat niet (zie `bbfeedback ports`)"),
    (r"--device (?P<d>\S+) needs --port \(see: bbfeedback ports\)",
     "--device {d} heeft --port nodig (zie: `bbfeedback ports`)"),
    (r"(?P<why>.+): is the device on, and is it the right one\?",
     "{why}: staat het apparaat aan, en is het het goede?"),
    (r"no data from (?P<port>.+)", "geen gegevens van {port}"),
    # patients, protocols, history
    (r"patient id (?P<p>.+) looks like a citizen service number \(BSN\): use a pseudonymous "
     r"code \(e\.g\. P017\)", "patiëntcode {p} lijkt op een burgerservicenummer (BSN): gebruik "
     "een code die niets over de patiënt zegt (bijvoorbeeld P017)"),
    (r"patient id (?P<p>.+) must be a pseudonymous code \(letters, digits, - _ \.; no "
     r"spaces\), not a name", "patiëntcode {p} moet een code zijn die niets over de "
     "patiënt zegt (letters, cijfers, - _ .; geen spaties), geen naam"),
    (r"no protocol with this id or path \(built in: (?P<ids>.+)\)",
     "geen oefening met deze naam of op deze plaats (ingebouwd: {ids})"),
    (r"record needs --seconds, or a --protocol whose end ends it",
     "`bbfeedback record` heeft --seconds nodig, of een --protocol dat vanzelf eindigt"),
    (r"no sessions of patient (?P<p>.+) in the history",
     "geen sessies van patiënt {p} in de geschiedenis"),
    (r"no sessions of patient (?P<p>.+) in (?P<db>.+)", "geen sessies van patiënt {p} in {db}"),
    (r"no history at (?P<db>.+) \(a mistyped --db\? one is made by record --patient "
     r"--protocol, or history rebuild DIR\)", "geen geschiedenis in {db} (een tikfout in "
     "--db? Die wordt gemaakt door `bbfeedback record --patient --protocol`, of door "
     "`bbfeedback history rebuild MAP`)"),
    (r"--accept needs a patient: bbfeedback history PATIENT --accept OUT\.toml",
     "--accept heeft een patiënt nodig: `bbfeedback history PATIËNT --accept UIT.toml`"),
    (r"report needs a session FILE or --patient ID",
     "`bbfeedback report` heeft een sessiebestand of --patient CODE nodig"),
    (r"protocols show needs an ID or a path",
     "`bbfeedback protocols show` heeft de naam of de plaats van een oefening nodig"),
    (r"no display found: run it on a desktop, or without a screen with "
     r"QT_QPA_PLATFORM=offscreen bbfeedback gui \.\.\.",
     "geen beeldscherm gevonden: start het op een bureaublad, of zonder scherm met "
     "`QT_QPA_PLATFORM=offscreen bbfeedback gui ...`"),
    # analysis: aligning the protocol (app/alignment.py)
    (r"--align cues: the recording has no cue annotations",
     "`--align cues`: de opname heeft geen annotaties van de aanwijzingen"),
    (r"no cue annotations and no contraction to align the protocol to \(give --start-s\)",
     "geen annotaties van de aanwijzingen en geen aanspanning om de oefening op af te "
     "stemmen (geef --start-s)"),
    (r"--align contractions: no contraction long enough to be a repetition of this protocol",
     "`--align contractions`: geen aanspanning die lang genoeg is voor een herhaling van deze "
     "oefening"),
    (r"--start-s and --align (?P<a>\S+) exclude each other",
     "--start-s en `--align {a}` sluiten elkaar uit"),
    (r"--start-s (?P<s>\S+) is after the end of the recording \((?P<d>\S+) s\)",
     "--start-s {s} ligt na het einde van de opname ({d} s)"),
    # analysis (app/analyze.py, recording/__init__.py, signal/)
    (r"cannot make a temporary file in (?P<d>.+) \((?P<e>.+); set TMPDIR\)",
     "kan geen tijdelijk bestand maken in {d} ({e}; stel TMPDIR in)"),
    (r"no room for the envelope's temporary file in (?P<d>.+) \((?P<e>.+); it needs 16 bytes a "
     r"sample a channel: set TMPDIR to a larger folder\)",
     "geen ruimte voor het tijdelijke bestand van de omhullende in {d} ({e}; dat heeft 16 bytes "
     "per meetwaarde per kanaal nodig: laat TMPDIR naar een grotere map wijzen)"),
    (r"(?P<f>.+): (?P<n>\d+) samples were not usable numbers \(not a number, infinite or out "
     r"of range\) and were held at the last good value",
     "{f}: {n} meetwaarden waren geen bruikbare getallen (geen getal, oneindig of buiten "
     "bereik) en kregen de laatste goede waarde"),
    (r"no EMG or pressure signal in the file", "geen EMG- of druksignaal in het bestand"),
    (r"no channel named (?P<c>.+)", "geen kanaal met de naam {c}"),
    (r"channel (?P<c>.+) has unit (?P<u>.+), neither EMG nor pressure \(say its kind with "
     r"--kind NAME=emg\|pressure\)", "kanaal {c} heeft eenheid {u}, geen EMG en geen druk "
     "(geef de soort aan met `--kind NAAM=emg|pressure`)"),
    (r"unknown channel kind (?P<k>.+) \(use emg or pressure\)",
     "onbekende soort kanaal {k} (gebruik `emg` of `pressure`)"),
    (r"channel (?P<c>.+?): (?P<why>.+)", "kanaal {c}: {why}"),
    (r"sample rate (?P<fs>\S+) Hz is too low for a (?P<lo>\S+) Hz high-pass",
     "samplefrequentie {fs} Hz is te laag voor een hoogdoorlaatfilter van {lo} Hz"),
    (r"fs_hz must be positive", "de samplefrequentie moet positief zijn"),
    (r"window_s must be positive", "het venster moet positief zijn"),
    (r"unit (?P<u>.+) is not a voltage \(uV, mV, V\)",
     "eenheid {u} is geen spanning (`uV`, `mV`, `V`)"),
    (r"unit (?P<u>.+) is not a pressure \(cmH2O, mmHg, hPa, kPa\)",
     "eenheid {u} is geen druk (cmH2O, mmHg, hPa, kPa)"),
    (r"gap annotation (?P<g>.+) does not fit the signal; ignored",
     "annotatie van een onderbreking {g} past niet bij het signaal; genegeerd"),
    (r"the protocol never got its calibration \(file too short\?\)",
     "de oefening kwam niet toe aan de kalibratie (is het bestand te kort?)"),
    (r"holds (?P<n>\S+) MB of samples, more than bbfeedback holds at once \((?P<m>\S+) MB\); "
     r"`bbfeedback analyze` reads it in pieces",
     "bevat {n} MB aan meetwaarden, meer dan bbfeedback in één keer vasthoudt ({m} MB); "
     "`bbfeedback analyze` leest het in delen"),
    (r"(?P<f>.+): and (?P<n>\d+) more damaged annotations",
     "{f}: en nog {n} beschadigde annotaties"),
    (r"the recorded main channel (?P<c>.+) is not in the file; ignored",
     "het opgenomen gescoorde kanaal {c} staat niet in het bestand; genegeerd"),
    (r"the recorded accessory channel (?P<c>.+) is not in the file; ignored",
     "het opgenomen kanaal van de buikspieren {c} staat niet in het bestand; genegeerd"),
    (r"report makes one report: a session FILE or --patient ID, not both",
     "`bbfeedback report` maakt één rapport: van een sessiebestand of van --patient ID, niet "
     "van beide"),
    # the scored protocol and its recorded settings (app/rescore_setup.py)
    (r"no bbfeedback session in this file \(no protocol was recorded\): choose one",
     "geen bbfeedback-sessie in dit bestand (er is geen protocol opgenomen): kies er een"),
    (r"recorded with protocol (?P<p>.+), which is not a bundled one: give it with --protocol "
     r"FILE\.toml", "opgenomen met protocol {p}, dat niet ingebouwd is: geef het met "
     "`--protocol BESTAND.toml`"),
    (r"(?P<f>.+): recorded with (?P<a>.+), scored now as (?P<b>.+)",
     "{f}: opgenomen met {a}, nu gescoord als {b}"),
    (r"(?P<f>.+) \(recorded protocol\): (?P<why>.+); using the protocol its settings name",
     "{f} (opgenomen protocol): {why}; het protocol dat de instellingen noemen wordt gebruikt"),
    (r"(?P<why>.+); using the protocol its settings name",
     "{why}; het protocol dat de instellingen noemen wordt gebruikt"),
    (r"recorded calibration of (?P<c>.+) has no MVC above rest; calibrating from the signal",
     "de opgenomen kalibratie van {c} heeft geen MVC boven de rust; er wordt gekalibreerd "
     "uit het signaal"),
    (r"(?P<f>.+): recorded notch_hz (?P<n>.+) does not fit (?P<fs>\S+) Hz; detecting the hum "
     r"instead", "{f}: het opgenomen notchfilter {n} past niet bij een samplefrequentie van "
     "{fs} Hz; de netbrom wordt opnieuw bepaald"),
    (r"(?P<f>.+): filtered otherwise than when recorded \((?P<why>.+), window (?P<w>\S+) s\): "
     r"calibrating from the signal, not with the recorded calibration",
     "{f}: anders gefilterd dan bij de opname ({why}, venster {w} s): er wordt gekalibreerd "
     "uit het signaal, niet met de opgenomen kalibratie"),
    (r"notch at (?P<hz>.+) Hz", "notchfilter op {hz} Hz"),
    (r"no notch", "geen notchfilter"),
    # reading a CSV recording (recording/csvfile.py)
    (r"column (?P<c>.+) is not named <name>_<unit> \(e\.g\. emg_uV\)",
     "kolom {c} heeft geen naam als `<naam>_<eenheid>` (bijvoorbeeld `emg_uV`)"),
    (r"column (?P<c>.+): unknown unit (?P<u>.+)", "kolom {c}: onbekende eenheid {u}"),
    (r"(?P<n>\S+) GiB is more than a CSV recording may hold \((?P<m>\S+) GiB\); use EDF for "
     r"long recordings", "{n} GiB is meer dan een CSV-opname mag bevatten ({m} GiB); gebruik "
     "EDF voor lange opnamen"),
    (r"first column must be time_s, found (?P<c>.+)",
     "de eerste kolom moet `time_s` zijn, niet {c}"),
    (r"no signal columns after time_s", "geen signaalkolommen na `time_s`"),
    (r"line (?P<n>\d+) is longer than (?P<m>\d+) characters; not a CSV recording",
     "regel {n} is langer dan {m} tekens; geen CSV-opname"),
    (r"needs at least two rows of samples", "heeft minstens twee regels met meetwaarden nodig"),
    (r"line (?P<n>\d+): (?P<k>\d+) values, expected (?P<w>\d+)",
     "regel {n}: {k} waarden, verwacht {w}"),
    (r"line (?P<n>\d+): not a number in (?P<v>.+)", "regel {n}: geen getal in {v}"),
    (r"line (?P<n>\d+): value is not finite", "regel {n}: een waarde is niet eindig"),
    (r"time_s does not increase", "`time_s` loopt niet op"),
    (r"uneven time steps: line (?P<n>\d+) steps (?P<s>\S+) s, expected (?P<e>\S+) s",
     "ongelijke tijdstappen: regel {n} stapt {s} s, verwacht {e} s"),
    (r"time steps of (?P<s>\S+) s make (?P<r>\S+) samples a second \(at most (?P<m>\S+)\): is "
     r"time_s in seconds\?", "tijdstappen van {s} s geven {r} meetwaarden per seconde "
     "(hoogstens {m}): staat `time_s` in seconden?"),
    # reading an EDF/BDF recording (recording/edf.py, edf_header.py)
    (r"holds not one whole data record of the size its header gives \(cut off at its start, or "
     r"a damaged header\): nothing can be read from it", "bevat geen enkel volledig datablok "
     "van de grootte die de header noemt (meteen afgebroken, of een beschadigde header): er "
     "valt niets uit te lezen"),
    (r"its name is not UTF-8, which the EDF library cannot open here: rename the file",
     "de naam is geen UTF-8, en die kan de EDF-bibliotheek hier niet openen: geef het bestand "
     "een andere naam"),
    (r"cannot be opened \((?P<e>.+)\)", "kan niet geopend worden ({e})"),
    (r"cannot be read \((?P<e>.+)\)", "kan niet gelezen worden ({e})"),
    (r"is cut off or still being recorded \(its header promises more than the file holds\): "
     r"bbfeedback recover (?P<f>.+)", "is afgebroken of wordt nog opgenomen (de header belooft "
     "meer dan het bestand bevat): herstel het met `bbfeedback recover {f}`"),
    (r"the header says (?P<why>.+) but the file holds (?P<why2>.+) \(a recording whose header "
     r"was not brought up to date\); run `bbfeedback recover (?P<f>.+)`",
     "volgens de header is het {why}, maar het bestand bevat {why2} (een opname waarvan de "
     "header niet is bijgewerkt); herstel het met `bbfeedback recover {f}`"),
    (r"(?P<n>\d+) data records", "{n} datablokken"),
    (r"(?P<v>-?\d+(?:\.\d+)?) s", "{v} s"),
    (r"was cut off while being read \(it is now shorter than its header says\); nothing was "
     r"written from it", "werd korter terwijl het gelezen werd (het is nu korter dan de header "
     "zegt); er is niets uit geschreven"),
    (r"the annotation channel is damaged \((?P<n>\d+) unreadable annotation lists left out; "
     r"(?P<m>\d+) read\)", "het annotatiekanaal is beschadigd ({n} onleesbare lijsten met "
     "annotaties weggelaten; {m} gelezen)"),
    (r"padding annotation (?P<p>.+) does not fit the signal's end; ignored",
     "annotatie van de opvulling {p} past niet bij het einde van het signaal; genegeerd"),
    (r"signal (?P<s>.+): (?P<r>\S+) samples a second is not a sample rate \(record duration "
     r"(?P<d>\S+) s in the header\)", "signaal {s}: {r} meetwaarden per seconde is geen "
     "samplefrequentie (duur van een datablok in de header: {d} s)"),
    (r"header cut off", "header afgebroken"),
    (r"number of signals", "aantal signalen"),
    (r"header size", "lengte van de header"),
    (r"record count", "aantal datablokken"),
    (r"samples per record", "meetwaarden per datablok"),
    (r"a signal has no samples per record", "een signaal heeft geen meetwaarden per datablok"),
    # output files and folders (recording/outputs.py)
    (r"is a folder; give a file name", "is een map; geef een bestandsnaam"),
    (r"is a folder, not a recording", "is een map, geen opname"),
    (r"is the input file; give a new name", "is het invoerbestand; geef een nieuwe naam"),
    (r"exists already; give another name or --force",
     "bestaat al; geef een andere naam of --force"),
    (r"is not a regular file", "is geen gewoon bestand"),
    (r"is a recording still being made; give another name",
     "is een opname die nog loopt; geef een andere naam"),
    (r"is the in-progress marker of a recording; give another name",
     "is het markeerbestand van een lopende opname; geef een andere naam"),
    (r"is not a folder", "is geen map"),
    (r"cannot make the folder \((?P<e>.+)\)", "kan de map niet maken ({e})"),
    (r"cannot create \((?P<e>.+)\)", "kan niet worden aangemaakt ({e})"),
    # recover (recording/repair.py) and unfinished recordings
    (r"is still being recorded \(or its recording was cut off: bbfeedback recover "
     r"(?P<f>.+)\)", "wordt nog opgenomen (of de opname is afgebroken: herstel het met "
     "`bbfeedback recover {f}`)"),
    (r"is still being recorded \(a recorder holds it open, maybe under another name\); stop "
     r"that recording first", "wordt nog opgenomen (een opname houdt het open, misschien "
     "onder een andere naam); stop eerst die opname"),
    (r"no complete data record on disk: nothing to recover",
     "geen volledig datablok op de schijf: er is niets te herstellen"),
    (r"cannot repair it in place \((?P<e>.+)\)", "kan het niet ter plaatse herstellen ({e})"),
    (r"no room for the repaired copy \((?P<e>.+)\); nothing changed: repair the file itself "
     r"with --in-place, which needs no new space", "geen ruimte voor de herstelde kopie ({e}); "
     "er is niets veranderd: herstel het bestand zelf met --in-place, dat geen extra ruimte "
     "nodig heeft"),
    (r"the header does not describe the data records \(a record has no time stamp where it "
     r"should\); left unchanged", "de header beschrijft de datablokken niet (een datablok "
     "heeft geen tijdstempel waar die hoort); niet veranderd"),
    (r"too short to be an EDF file: nothing to recover",
     "te kort voor een EDF-bestand: er is niets te herstellen"),
    (r"too short to be an EDF file", "te kort voor een EDF-bestand"),
    # export (app/anonymise.py)
    (r"its header counts (?P<n>\d+) data records but the file holds (?P<m>\d+) and part of one "
     r"more: bbfeedback recover (?P<f>.+) first", "volgens de header heeft het {n} datablokken, "
     "maar het bestand bevat er {m} en een deel van nog één: herstel het eerst met "
     "`bbfeedback recover {f}`"),
    (r"its header counts (?P<n>\d+) data records but the file holds (?P<m>\d+): bbfeedback "
     r"recover (?P<f>.+) first", "volgens de header heeft het {n} datablokken, maar het "
     "bestand bevat er {m}: herstel het eerst met `bbfeedback recover {f}`"),
    (r"was cut off while being copied", "werd korter terwijl het gekopieerd werd"),
    (r"the anonymised annotations do not fit in the file's annotation channel; nothing was "
     r"written", "de geanonimiseerde annotaties passen niet in het annotatiekanaal van het "
     "bestand; er is niets geschreven"),
    (r"--out (?P<o>.+): a copy keeps its type; name it \*(?P<s>\S+)",
     "--out {o}: een kopie houdt hetzelfde soort bestand; noem het *{s}"),
    (r"a CSV recording has no header fields to blank; copy it without --anonymise",
     "een CSV-opname heeft geen headervelden om leeg te maken; kopieer het zonder --anonymise"),
    (r"was cut off while being recorded: bbfeedback recover (?P<f>.+) first, then export the "
     r"recovered copy", "is tijdens de opname afgebroken: herstel het eerst met `bbfeedback "
     "recover {f}` en exporteer dan de herstelde kopie"),
    # export-bids (app/bids.py)
    (r"no \.edf or \.bdf recordings in this folder", "geen .edf- of .bdf-opnamen in deze map"),
    (r"(?P<why>.+); skipped", "{why}; overgeslagen"),
    (r"still being recorded \(process (?P<pid>\d+)\)", "wordt nog opgenomen (proces {pid})"),
    (r"not an EDF or BDF recording \(EMG-BIDS takes \.edf or \.bdf\)",
     "geen EDF- of BDF-opname (EMG-BIDS neemt .edf of .bdf)"),
    (r"is a file; give a folder for the dataset", "is een bestand; geef een map voor de dataset"),
    (r"exists already; give a new folder or --force", "bestaat al; geef een nieuwe map of --force"),
    (r"is not an earlier bbfeedback BIDS export; not replaced \(give a new folder\)",
     "is geen eerdere BIDS-export van bbfeedback; niet vervangen (geef een nieuwe map)"),
    (r"holds the recording (?P<f>.+); give another folder",
     "bevat de opname {f}; geef een andere map"),
    (r"--subject (?P<p>.+) must be a pseudonymous code \(letters, digits, - _ \.; no spaces\), "
     r"not a name", "--subject {p} moet een code zijn die niets over de patiënt zegt (letters, "
     "cijfers, - _ .; geen spaties), geen naam"),
    (r"(?P<f>.+): the same recording as (?P<g>.+); exported once",
     "{f}: dezelfde opname als {g}; één keer geëxporteerd"),
    (r"(?P<f>.+) and (?P<g>.+) are recordings of different patients \(their headers differ\): "
     r"export each patient's recordings with their own --subject",
     "{f} en {g} zijn opnamen van verschillende patiënten (hun headers verschillen): "
     "exporteer de opnamen van elke patiënt met een eigen --subject"),
    (r"has no pseudonymous patient code in its header; give one with --subject CODE",
     "heeft in de header geen patiëntcode die niets over de patiënt zegt; geef er een met "
     "`--subject CODE`"),
    (r"patient code (?P<p>.+) in the header is not a pseudonymous code \(letters, digits, - _ "
     r"\.\): give the participant's code with --subject CODE", "patiëntcode {p} in de header "
     "is geen code die niets over de patiënt zegt (letters, cijfers, - _ .): geef de code van "
     "de deelnemer met `--subject CODE`"),
    (r"patient code (?P<p>.+) has no letters or digits for a BIDS label",
     "patiëntcode {p} heeft geen letters of cijfers voor een BIDS-label"),
    (r"patient codes (?P<p>.+) and (?P<q>.+) both become sub-(?P<l>\S+); export them to "
     r"separate folders", "patiëntcodes {p} en {q} worden allebei sub-{l}; exporteer ze naar "
     "aparte mappen"),
    (r"every recording found is still being recorded or cut off: nothing to export",
     "elke gevonden opname wordt nog opgenomen of is afgebroken: er is niets te exporteren"),
    (r"(?P<why>.+); exporting its contractions without repetition scores",
     "{why}; de aanspanningen worden geëxporteerd zonder scores per herhaling"),
    # analyze of an archive (app/cli.py, app/archive.py)
    (r"--(?P<o>[\w-]+) is for one recording; an archive is analysed as each file was recorded",
     "--{o} is voor één opname; een archief wordt geanalyseerd zoals elk bestand is "
     "opgenomen"),
    (r"an archive needs --out FILE\.parquet or FILE\.csv",
     "een archief heeft `--out BESTAND.parquet` of `BESTAND.csv` nodig"),
    (r"--jobs and --scheduler exclude each other \(the cluster's workers are its jobs\)",
     "--jobs en --scheduler sluiten elkaar uit (de rekenknopen van het cluster zijn de taken)"),
    (r"--out (?P<o>.+): use a \.parquet or \.csv file name",
     "--out {o}: gebruik een bestandsnaam op .parquet of .csv"),
    (r"--scheduler (?P<a>.+): give the scheduler's address as tcp://HOST:PORT",
     "--scheduler {a}: geef het adres van de scheduler als `tcp://HOST:PORT`"),
    (r"--scheduler needs Dask: pip install 'bbfeedback\[research\]'",
     "--scheduler heeft Dask nodig: `pip install 'bbfeedback[research]'`"),
    (r"cannot reach the Dask scheduler at (?P<a>.+) \(no answer\)",
     "kan de Dask-scheduler op {a} niet bereiken (geen antwoord)"),
    (r"cannot reach the Dask scheduler at (?P<a>.+) \((?P<e>.+)\)",
     "kan de Dask-scheduler op {a} niet bereiken ({e})"),
    (r"--out \.parquet needs pyarrow: pip install 'bbfeedback\[research\]' \(or write \.csv\)",
     "--out .parquet heeft pyarrow nodig: `pip install 'bbfeedback[research]'` (of schrijf "
     ".csv)"),
    (r"no recordings \(\.edf, \.bdf, \.csv\) in (?P<d>.+)",
     "geen opnamen (.edf, .bdf, .csv) in {d}"),
    # record, emulate and devices (app/cli.py, app/record.py, app/sources.py, app/options.py)
    (r"--replug-after needs --unplug-after", "--replug-after heeft --unplug-after nodig"),
    (r"--stream is for --device lsl \(the name of an LSL stream\)",
     "--stream hoort bij `--device lsl` (de naam van een LSL-stream)"),
    (r"--device lsl needs --stream NAME \(the name of an LSL stream\)",
     "`--device lsl` heeft `--stream NAAM` nodig (de naam van een LSL-stream)"),
    (r"--device (?P<d>\S+) needs --port \(a serial port, a pyserial URL, or 'emulated'\)",
     "--device {d} heeft --port nodig (een seriële poort, een pyserial-URL of 'emulated')"),
    (r"--kind wants NAME=emg or NAME=pressure, got (?P<v>.+)",
     "--kind verwacht `NAAM=emg` of `NAAM=pressure`, niet {v}"),
    (r"must be from (?P<lo>\S+) to (?P<hi>\S+): (?P<v>.+)", "moet van {lo} tot {hi} zijn: {v}"),
    (r"(?P<why>.+); the new history database is removed again; nothing recorded",
     "{why}; de nieuwe geschiedenis is weer verwijderd; er is niets opgenomen"),
    (r"(?P<why>.+); nothing recorded", "{why}; er is niets opgenomen"),
    (r"is not an \.edf name: a recording is an EDF\+ file \(give FILE\.edf\)",
     "is geen .edf-naam: een opname is een EDF+-bestand (geef BESTAND.edf)"),
    (r"the file name is not UTF-8 text: give a name of letters, digits and punctuation \(the "
     r"history keeps names as text\)", "de bestandsnaam is geen UTF-8-tekst: geef een naam van "
     "letters, cijfers en leestekens (de geschiedenis bewaart namen als tekst)"),
    (r"cannot create: (?P<m>.+) is there \(an unfinished recording of this name\? recover it, "
     r"or remove that marker\)", "kan niet worden aangemaakt: {m} bestaat (een onafgemaakte "
     "opname met deze naam? Herstel die, of verwijder dat markeerbestand)"),
    (r"--calibration previous needs --protocol and --patient \(the MVC is the patient's last "
     r"session's, from the history\)", "`--calibration previous` heeft --protocol en --patient "
     "nodig (de MVC komt uit de laatste sessie van de patiënt in de geschiedenis)"),
    (r"no earlier session of patient (?P<p>.+): no history at (?P<db>.+) \(a mistyped --db\?\): "
     r"choose --calibration max, gentle or none", "geen eerdere sessie van patiënt {p}: geen "
     "geschiedenis in {db} (een tikfout in --db?): kies `--calibration max`, `gentle` of "
     "`none`"),
    # what record says while and after it records (app/record.py, the drivers' statuses)
    (r"simulated sensor: connected", "gesimuleerde sensor: verbonden"),
    (r"connected", "verbonden"),
    (r"reconnected: (?P<rest>.+)", "weer verbonden: {rest}"),
    (r"no data for (?P<s>\S+) s", "geen gegevens gedurende {s} s"),
    (r"on disk (?P<n>\d+) samples", "{n} meetwaarden op schijf"),
    (r"recorded (?P<n>\d+) samples \((?P<s>\S+) s\) to (?P<f>.+); samples received "
     r"(?P<r>\d+); packets lost (?P<p>\d+); samples lost (?P<l>\d+); disconnections "
     r"(?P<d>\d+)", "{n} meetwaarden ({s} s) opgenomen in {f}; ontvangen: {r}; verloren "
     "pakketten: {p}; verloren meetwaarden: {l}; verbroken verbindingen: {d}"),
    (r"stopped early \(Ctrl-C or SIGTERM\); the recording is saved",
     "eerder gestopt (Ctrl-C of SIGTERM); de opname is bewaard"),
    (r"added to the history \((?P<db>.+)\)", "toegevoegd aan de geschiedenis ({db})"),
    (r"not added to the history: (?P<why>.+)", "niet toegevoegd aan de geschiedenis: {why}"),
    (r"unfinished recording (?P<f>.+) found \(a crash\?\); recover it with: bbfeedback "
     r"recover (?P<g>.+)", "onafgemaakte opname {f} gevonden (vastgelopen?); herstel die met "
     "`bbfeedback recover {g}`"),
    (r"--patient without --protocol records no scores, so the session is not added to the "
     r"history", "--patient zonder --protocol geeft geen scores: de sessie komt niet in de "
     "geschiedenis"),
    (r"stopped before any sample arrived; nothing recorded",
     "gestopt voordat er een meetwaarde binnenkwam; er is niets opgenomen"),
    (r"(?P<why>.+): is the device on, and is it the right one\? \(nothing recorded\)",
     "{why}: staat het apparaat aan, en is het het juiste? (er is niets opgenomen)"),
    (r"device lost \((?P<why>.+)\); the recording up to then is saved in (?P<f>.+)",
     "apparaat kwijt ({why}); de opname tot dan is bewaard in {f}"),
    (r"(?P<why>.+): the session is not in the history(?P<rest>; the new history database is "
     r"removed again)?; the recording is kept in (?P<f>.+) \(add it when there is room: "
     r"bbfeedback history rebuild (?P<d>.+)\)", "{why}: de sessie staat niet in de "
     "geschiedenis{rest}; de opname is bewaard in {f} (voeg haar toe als er ruimte is: "
     "`bbfeedback history rebuild {d}`)"),
    (r"; the new history database is removed again",
     "; de nieuwe geschiedenis is weer verwijderd"),
    # history (app/cli.py, app/history.py)
    (r"history rebuild needs a folder of recordings",
     "`bbfeedback history rebuild` heeft een map met opnamen nodig"),
    (r"is not a folder \(history rebuild needs a folder of recordings\)",
     "is geen map (`bbfeedback history rebuild` heeft een map met opnamen nodig)"),
    (r"there is no suggestion to accept: one is made after two sessions of the same exercise "
     r"with at least 80 % \(or both under 40 %\) of their repetitions met",
     "er is geen suggestie om over te nemen: die komt er na twee sessies van dezelfde "
     "oefening waarin minstens 80 % van de herhalingen gehaald is (of in beide minder dan "
     "40 %)"),
    (r"cannot accept the suggestion: unknown change (?P<c>.+)",
     "kan de suggestie niet overnemen: onbekende wijziging {c}"),
    (r"cannot accept the suggestion: (?P<why>.+)", "kan de suggestie niet overnemen: {why}"),
    (r"the exercise asks this already \(nothing would change\)",
     "de oefening vraagt dit al (er zou niets veranderen)"),
    (r"an assessment is measured, not practised; it has no targets to change",
     "een meting is om te meten, niet om te oefenen; er zijn geen doelen om aan te passen"),
    (r"not a bundled exercise \(change its own protocol file\)",
     "geen ingebouwde oefening (pas het eigen protocolbestand aan)"),
    *(_template_row(en, nl) for nl, en in SUGGEST_REASONS.values()),
    (r"is not a database file", "is geen databasebestand"),
    (r"no room on the disk for the history database \((?P<e>.+)\)",
     "geen ruimte op de schijf voor de geschiedenis ({e})"),
    (r"cannot open the history database \((?P<e>.+)\)", "kan de geschiedenis niet openen ({e})"),
    (r"database schema (?P<v>\d+) is newer than this bbfeedback \((?P<w>\d+)\): upgrade "
     r"bbfeedback", "databaseschema {v} is nieuwer dan deze versie van bbfeedback ({w}): werk "
     "bbfeedback bij"),
    (r"the file name is not UTF-8 text: rename it to add the session to the history",
     "de bestandsnaam is geen UTF-8-tekst: geef het bestand een andere naam om de sessie aan "
     "de geschiedenis toe te voegen"),
    (r"(?P<db>.+): session (?P<s>.+) \((?P<f>.+)\) is damaged in the history; left out "
     r"\(history rebuild restores it\)", "{db}: sessie {s} ({f}) is beschadigd in de "
     "geschiedenis; weggelaten (`bbfeedback history rebuild` herstelt haar)"),
    (r"not an EDF file \(header unreadable\)", "geen EDF-bestand (header onleesbaar)"),
    (r"cannot read \((?P<e>.+)\)", "kan niet gelezen worden ({e})"),
    (r"no pseudonymous patient code in the file's header \(none, or a name\); not added",
     "geen patiëntcode die niets over de patiënt zegt in de header van het bestand (geen "
     "code, of een naam); niet toegevoegd"),
    (r"the session was stopped during its calibration: no repetition to keep \(record and the "
     r"live window leave it out too\)", "de sessie is tijdens de kalibratie gestopt: er is "
     "geen herhaling om te bewaren (`bbfeedback record` en het venster laten haar ook weg)"),
    (r"damaged repetition scores in the file; not added \(analyze it to score it again from "
     r"the signal\)", "beschadigde scores per herhaling in het bestand; niet toegevoegd "
     "(analyseer het met `bbfeedback analyze` om het opnieuw uit het signaal te scoren)"),
    # the window (gui/)
    (r"Qt needs system libraries to open a window on X11: sudo apt-get install (?P<p>.+)",
     "Qt heeft systeembibliotheken nodig om een venster te openen op X11: "
     "`sudo apt-get install {p}`"),
    (r"no exercise could be read: choose one", "er kon geen oefening worden gelezen: kies er een"),
    # last: a file's name before a message (a warning: "FILE: gap annotation ..."; an
    # error inside another: "...: FILE: no room ...; nothing recorded")
    (r"(?P<f>.+?): (?P<rest>.+)", "{f}: {rest}"),
)


TRANSLATED = ("why", "rest")  # the groups of a message that are messages themselves
# (also numbered: "why2", a second one in the same message)


def message(english: str, lang: str) -> str:
    """A command-line message in ``lang``: the first row of ``MESSAGES`` whose pattern is the
    whole message, its ``why`` and ``rest`` translated in turn (the other groups are names,
    values and paths, shown as given); else the English as it is."""
    if lang != "nl":
        return english
    for pattern, dutch in MESSAGES:
        m = re.fullmatch(pattern, english, re.S)
        if m:
            return dutch.format(**{k: _group(k, v or "", lang)
                                   for k, v in m.groupdict().items()})
    return english


def _group(name: str, value: str, lang: str) -> str:
    if name.rstrip("0123456789") in TRANSLATED:  # "why", "why2": a message itself
        return message(value, lang)
    if re.fullmatch(r"-?\d+\.\d+", value):  # a bound ("0.01"): a decimal comma
        return value.replace(".", ",")
    return value


def said(exc: Exception, lang: str) -> str:
    """A user's mistake in ``lang``: its file's name, then the message (an error of
    bbfeedback's carries both apart: ``errors.InputError``); as the window shows it, and as
    ``error_line`` prints it."""
    english, path = getattr(exc, "message", str(exc)), getattr(exc, "path", None)
    return f"{path}: {message(english, lang)}" if path is not None else message(english, lang)


MONTHS: tuple[tuple[str, str], ...] = (
    ("jan", "Jan"), ("feb", "Feb"), ("mrt", "Mar"), ("apr", "Apr"), ("mei", "May"),
    ("jun", "Jun"), ("jul", "Jul"), ("aug", "Aug"), ("sep", "Sep"), ("okt", "Oct"),
    ("nov", "Nov"), ("dec", "Dec"))


def short_date(iso: str, lang: str) -> str:
    """"7 dec 21:53" from "2026-12-07 21:53" (or ISO with a T): the month as a word, so a
    Dutch reader never takes 12-07 for 12 July; as given when it is no such date."""
    m = re.match(r"\d{4}-(\d{2})-(\d{2})[T ](\d{2}:\d{2})", iso)
    if not m or not 1 <= int(m.group(1)) <= 12:
        return iso
    return f"{int(m.group(2))} {pick(MONTHS[int(m.group(1)) - 1], lang)} {m.group(3)}"


def level_line(level: str, english: str, lang: str) -> str:
    """``bbfeedback: waarschuwing: ...``: a logged line (a warning about a file, ...) with its
    level's word and its message in ``lang`` (``message``)."""
    word = LEVEL_WORDS.get(level)
    return f"bbfeedback: {pick(word, lang) if word else level}: {message(english, lang)}"


def error_line(text: str, lang: str) -> str:
    """``bbfeedback: error: ...`` / ``bbfeedback: fout: ...`` before a message already in
    ``lang`` (``said``, or ``message`` for argparse's)."""
    return f"bbfeedback: {pick(ERROR_WORD, lang)}: {text}"


# --- formatting ------------------------------------------------------------------------------
MISSING = "–"  # an en dash: no value (a hyphen reads as a minus sign in a column of numbers)


def fmt(value: object, lang: str, spec: str = "") -> str:
    """A value as text in ``lang``: numbers with the spec and, in Dutch, a decimal comma
    ("-0" shown as "0"); None, NaN and infinity as "–" (the one mark for "no value" in
    every table: never "0,00"); yes/no for booleans."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return pick(TEXTS["yes" if value else "no"], lang)
    if isinstance(value, numbers.Real):  # numpy's numbers too
        if not math.isfinite(value):
            return MISSING
        try:
            s = format(value, spec or ("d" if isinstance(value, numbers.Integral) else "g"))
        except ValueError:  # an int with a float spec and the like
            s = format(float(value), spec)
        if s.startswith("-") and not any(c in "123456789" for c in s):
            s = s[1:]  # "-0", "-0.0": rounding, not a sign worth showing
        return s.replace(".", ",") if lang == "nl" else s
    return str(value)


def join(items: Iterable[str], lang: str) -> str:
    """"1, 2 en 3" / "1, 2 and 3"."""
    s = list(items)
    if len(s) < 2:
        return "".join(s)
    return ", ".join(s[:-1]) + (" en " if lang == "nl" else " and ") + s[-1]


LIST_ALL = 5  # repetition numbers up to this many are written out: "2, 3 en 5"
LIST_PARTS = 5  # more are written as runs ("1–12, 15 en 20") in at most this many parts,
#   beyond that as a count: "990 van de 1000 herhalingen" (a list of 990 is no one's read)


class Numbers(tuple):
    """Repetition numbers for a sentence, and of how many repetitions (``total``, None
    when not known): a long list is written short (``number_parts``, ``format_text``)."""

    total: int | None

    def __new__(cls, items: Iterable[int], total: int | None = None) -> Numbers:
        self = super().__new__(cls, items)
        self.total = total
        return self


def number_parts(items: Sequence[int]) -> list[str] | None:
    """A list of numbers as they are written: each one while there are at most
    ``LIST_ALL``, else runs of three or more as "4–12"; None when that still takes more
    than ``LIST_PARTS`` parts (then the count is said instead)."""
    ns = sorted(dict.fromkeys(int(n) for n in items))
    if len(ns) <= LIST_ALL:
        return [str(n) for n in ns]
    parts, start = [], 0
    for i in range(1, len(ns) + 1):
        if i == len(ns) or ns[i] != ns[i - 1] + 1:
            run = ns[start:i]
            parts += [f"{run[0]}–{run[-1]}"] if len(run) >= 3 else [str(n) for n in run]
            start = i
    return parts if len(parts) <= LIST_PARTS else None


def count_of(items: Numbers, noun: str, lang: str) -> str:
    """"990 van de 1000 herhalingen" / "990 of the 1000 repetitions" (``noun``: the
    plural, as the sentence has it; lower case in the middle of the sentence)."""
    noun = noun[:1].lower() + noun[1:]
    n, total = len(set(items)), items.total
    if total is None or total < n:
        return f"{n} {noun}".rstrip()
    return (f"{n} van de {total} {noun}" if lang == "nl"
            else f"{n} of the {total} {noun}").rstrip()


class _Formatter(string.Formatter):
    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value: object, spec: str) -> str:
        if "|" in spec:  # {n:one|many}
            one, many = spec.split("|", 1)
            count = len(value) if isinstance(value, list | tuple) else value
            return one if count == 1 else many
        if isinstance(value, Numbers):
            parts = number_parts(value)
            return count_of(value, "", self.lang) if parts is None else join(parts, self.lang)
        if isinstance(value, list | tuple):
            return join((fmt(v, self.lang, spec) for v in value), self.lang)
        return fmt(value, self.lang, spec)


def format_text(template: str, lang: str, **values: object) -> str:
    """A template filled in with the rules of ``lang`` (see the module's doc). Numbers too
    many to list turn "{reps:herhaling|herhalingen} {reps}" into "990 van de 1000
    herhalingen"."""
    for name, value in values.items():
        if isinstance(value, Numbers) and number_parts(value) is None:
            field = re.escape(name)
            template = re.sub(r"\{" + field + r":[^{}|]*\|([^{}]*)\} \{" + field + r"\}",
                              lambda m, v=value: count_of(v, m.group(1), lang), template)
    return _Formatter(lang).format(template, **values)


# a protocol's source, as the bundled files write it (in English), in Dutch words
SOURCE_WORDS_NL = (("with its optional cue exercise", "met de extra oefening"),
                   ("daily schedule", "dagschema"), ("Glazer protocol", "Glazer-protocol"),
                   ("Leaflet", "Folder"), ("exercise", "oefening"))


def source_text(source: str, lang: str) -> str:
    """Where a protocol comes from, in ``lang`` ("Folder B, oefening 5")."""
    if lang == "nl":
        for en, nl in SOURCE_WORDS_NL:
            source = source.replace(en, nl)
    return source


def met_text(rep: ShownRow, lang: str) -> str:
    """A repetition's "met" cell: yes, no, or "–" when Stop cut it off (not judged)."""
    if not rep.judged:
        return MISSING
    return text("yes" if rep.met else "no", lang)


def text(key: str, lang: str, **values: object) -> str:
    """The text ``key`` of ``TEXTS`` in ``lang``, filled in with ``values``."""
    template = pick(TEXTS[key], lang)
    return format_text(template, lang, **values) if values else template


def lookup(table: dict[str, Sequence[str]], key: str, lang: str) -> str:
    """A word from one of the tables above; a key the table lacks (a file from a newer
    version, a hand-edited protocol) shows as it is rather than failing."""
    row = table.get(key)
    return pick(row, lang) if row else str(key)


def flag_name(code: str, lang: str) -> str:
    row = FLAGS.get(str(code))
    return (row[0] if lang == "nl" else row[1]) if row else str(code)


def flag_why(code: str, lang: str) -> str:
    row = FLAGS.get(str(code))
    return (row[2] if lang == "nl" else row[3]) if row else ""


def flag_names(codes: Iterable[str], lang: str) -> str:
    """The flags of a repetition as words, comma-separated."""
    return ", ".join(flag_name(c, lang) for c in codes)


QUICK_HOLD_S = 1.0  # = exercise.scoring.QUICK_HOLD_S (tested): a target this short is quick


NO_TIME = "–"  # a time that does not exist (no rise when already tense, no release): never 0,00


def time_cell(value: object, lang: str, spec: str = ".2f") -> str:
    """A time (hold, rise, release) as a table shows it: "–" where there is none (None, NaN),
    never "0,00"."""
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(value)):
        return NO_TIME
    return fmt(value, lang, spec)


def held_cells(rep: ShownRow, lang: str, spec: str = ".2f") -> tuple[str, str]:
    """(time held, target) of a repetition as a table shows them: a quick squeeze is not
    judged on hold time ("–", "snel"); an as-long-as-possible hold has no target; a hold
    that does not exist (not judged) is "–"."""
    target = rep.target_hold_s or 0.0
    if target <= 0:
        return time_cell(rep.hold_s, lang, spec), text("as_long_as_possible", lang)
    if target <= QUICK_HOLD_S:
        return MISSING, text("quick_target", lang)
    return time_cell(rep.hold_s, lang, spec), fmt(target, lang, ".1f")


def posture(name: str | None, lang: str) -> str:
    return MISSING if not name else lookup(POSTURES, name, lang)


# channel names as devices and files give them, in words (any other name is shown as it is)
CHANNELS: dict[str, tuple[str, str]] = {
    "pfm": ("bekkenbodem", "pelvic floor"),
    "abdominal": ("buikspieren", "abdominal muscles"),
    "abd": ("buikspieren", "abdominal muscles"),
    "pressure": ("druk", "pressure"),
}
UNITS = {"uV": "µV", "mV": "mV", "cmH2O": "cmH₂O"}  # as written in a file -> as shown


def channel(name: str, lang: str) -> str:
    """A channel in words ("pfm" is "bekkenbodem"); a name we do not know, as it is."""
    row = CHANNELS.get(name.lower())
    return name if row is None else pick(row, lang)


def unit(name: str) -> str:
    """A unit as shown ("uV" in a file is "µV" on a screen)."""
    return UNITS.get(name, name)


# --- the session summary's sentences ---------------------------------------------------------
# Words only: which sentences a summary says, and with which values, are the rules of
# ``bbfeedback.exercise.sentences``, one rule per key of these tables.

# the therapist's sentences, in the order they are read: key -> (Dutch, English)
SUMMARY: dict[str, tuple[str, str]] = {
    "weak_signal": (
        "Zwak signaal: de maximale aanspanning is maar {ratio:.1f} × de rust "
        "({mvc:.1f} tegen {rest:.1f} µV). Controleer de sonde of beoordeel de kracht met "
        "palpatie.",
        "Weak signal: the maximal squeeze is only {ratio:.1f} × the rest ({mvc:.1f} "
        "against {rest:.1f} µV). Check the probe or assess strength by palpation."),
    "squeezes_disagree": (
        "De {what_nl} van de kalibratie verschilden veel ({lo:.1f} tot {hi:.1f} "
        "{unit}{more_nl}); als {mvc_nl} telt {mvc:.1f} {unit}.{again_nl}",
        "The calibration's {what_en} differed widely ({lo:.1f} to {hi:.1f} "
        "{unit}{more_en}); the {mvc_en} taken is {mvc:.1f} {unit}.{again_en}"),
    "pressure_only": (
        "Alleen druk gemeten: druk alleen kan aanspannen en persen niet onderscheiden "
        "(Bø & Sherburn 2005). Kijk of de sonde naar binnen beweegt.",
        "Pressure alone was measured: it cannot tell a squeeze from a push (Bø & "
        "Sherburn 2005). Check that the probe moves inwards."),
    "not_judged": (
        "{reps:Herhaling|Herhalingen} {reps} niet beoordeeld: het signaal was verstoord "
        "({why_nl}).",
        "{reps:Repetition|Repetitions} {reps} not judged: the signal was disturbed "
        "({why_en})."),
    "no_reps": ("Geen herhalingen gescoord.", "No repetitions scored."),
    "incomplete": (
        "Sessie niet afgemaakt: {reps} van de {planned} herhalingen gedaan.",
        "Session not finished: {reps} of {planned} repetitions done."),
    "reps_met": (
        "Hield {met} van de {n} keer {hold:g} s vast.",
        "Held {hold:g} s in {met} of {n} {n:repetition|repetitions}."),
    "reps_met_mixed": (
        "Hield {met} van de {n} keer vast.",
        "Held the target in {met} of {n} {n:repetition|repetitions}."),
    "late_onset": (
        "Laat begonnen bij {reps:herhaling|herhalingen} {reps}.",
        "Late onset in {reps:repetition|repetitions} {reps}."),
    "early_onset": (
        "Te vroeg begonnen (in de rust ervoor) bij {reps:herhaling|herhalingen} {reps}.",
        "Early onset (in the rest before) in {reps:repetition|repetitions} {reps}."),
    "incomplete_relaxation": (
        "Na {reps:herhaling|herhalingen} {reps} onvolledig ontspannen.",
        "Incomplete relaxation after {reps:repetition|repetitions} {reps}."),
    "tense_rest": (
        "Gespannen in rust na {reps:herhaling|herhalingen} {reps}: {level:.1f} µV, "
        "{ratio:.1f} × de rust vooraf (grens {limit:g} µV).",
        "Tense at rest after {reps:repetition|repetitions} {reps}: {level:.1f} µV, "
        "{ratio:.1f} × the rest before (limit {limit:g} µV)."),
    "no_contraction": (
        "Geen aanspanning bij {reps:herhaling|herhalingen} {reps}.",
        "No contraction in {reps:repetition|repetitions} {reps}."),
    "knack_late": (
        "Te laat geknepen bij het hoesten bij {reps:herhaling|herhalingen} {reps}: eerst "
        "knijpen, dan hoesten.",
        "Squeezed too late for the cough in {reps:repetition|repetitions} {reps}: squeeze "
        "first, then cough."),
    "co_contraction": (
        "Buikspieren spanden mee bij {reps:herhaling|herhalingen} {reps}.",
        "Abdominal co-contraction in {reps:repetition|repetitions} {reps}."),
    "straining": (
        "Geperst in plaats van aangespannen bij {reps:herhaling|herhalingen} {reps}: "
        "niet persen, adem niet inhouden.",
        "Straining instead of squeezing in {reps:repetition|repetitions} {reps}: "
        "no pushing, keep breathing."),
    "too_strong": (
        "Te hard aangespannen bij {reps:herhaling|herhalingen} {reps}.",
        "Too strong in {reps:repetition|repetitions} {reps}."),
    "quick_count": (
        "{value} snelle {value:aanspanning|aanspanningen} tot vermoeidheid{why_nl}.",
        "{value} quick {value:contraction|contractions} before fatigue{why_en}."),
    "quick_count_steady": (
        "{value} snelle {value:aanspanning|aanspanningen}; de telling liep tot het eind "
        "van de reeks.",
        "{value} quick {value:contraction|contractions}; the count ran to the end of the "
        "set."),
    "quick_skipped": (
        "De snelle aanspanning bij {flicks:herhaling|herhalingen} {flicks} niet "
        "meegeteld (zwakker of niet losgelaten): één keer is nog geen vermoeidheid.",
        "The quick contraction in {flicks:repetition|repetitions} {flicks} not counted "
        "(weaker or not let go): once is not fatigue yet."),
    "quick_skipped_between": (
        "{n} snelle {n:aanspanning|aanspanningen} tussen de herhalingen niet meegeteld "
        "(zwakker of niet losgelaten).",
        "{n} quick {n:contraction|contractions} between the repetitions not counted "
        "(weaker or not let go)."),
    "endurance_hold_s": (
        "Uithoudingsvermogen: {value:.0f} s vastgehouden.",
        "Endurance: held {value:.0f} s."),
    "floors_distinct": (
        "Verdiepingen duidelijk gescheiden: {floors} van de {n} keer. "
        "In één keer losgelaten: {quick} van de {n} keer.",
        "Distinct floors: {floors} of {n} {n:lift|lifts}. "
        "Let go in one go: {quick} of {n} {n:lift|lifts}."),
    "control_faded_from": (
        "De controle werd minder vanaf herhaling {value}: stop dan met de oefening en "
        "rust uit.",
        "Control faded from repetition {value}: stop the exercise there and rest."),
    "fatigue_ratio": (
        "Spieractiviteit nam af tot {pct:.0f} % van de eerste herhaling.",
        "Muscle activity fell to {pct:.0f} % of the first repetition."),
    "hold_shorter": (
        "De aanspanningen werden korter naarmate de oefening vorderde: gemiddeld "
        "{first:.1f} s vastgehouden in het eerste derde, {last:.1f} s in het laatste.",
        "The squeezes got shorter as the exercise went on: held {first:.1f} s on "
        "average in the first third, {last:.1f} s in the last."),
    "glazer": (
        "Rust vooraf {pre:.1f} {unit}, achteraf {post:.1f} {unit}.",
        "Rest before {pre:.1f} {unit}, after {post:.1f} {unit}."),
    "perfect": ("PERFECT: E {E:.0f} s, R {R}, F {F}.", "PERFECT: E {E:.0f} s, R {R}, F {F}."),
    "possible_straining": (
        "Mogelijk geperst bij {reps:herhaling|herhalingen} {reps}: de druk steeg traag.",
        "Possible straining in {reps:repetition|repetitions} {reps}: the pressure rose "
        "slowly."),
    "mvc_from_recording": (
        "Geen kalibratie opgenomen: rust en MVC geschat uit de opname.",
        "No calibration recorded: rest and MVC estimated from the recording."),
    "no_mvc": (
        "Zonder maximale aanspanning gemeten: niveaus in µV, geen % MVC.",
        "Measured without a maximal squeeze: levels in µV, no % MVC."),
    "mvc_estimated": (
        "MVC geschat uit rustige aanspanningen (half), niet gemeten.",
        "MVC estimated from gentle (half) squeezes, not measured."),
}

# why the quick count ended (summary ``quick_ended``): read after the count, so a count
# of 2 beside 11 squeezes that reached the band says what stopped it
QUICK_ENDS: dict[str, tuple[str, str]] = {
    "weaker": (": de volgende twee waren duidelijk zwakker dan de sterkste",
               ": the next two were clearly weaker than the strongest"),
    "not_released": (": de volgende twee werden niet volledig losgelaten",
                     ": the next two were not fully let go"),
    # summaries written before the two-in-a-row rule
    "held": (": de volgende werd niet losgelaten (twee liepen in elkaar over)",
             ": the next was not let go (two ran together)"),
}

# the parts of the sentence on calibration squeezes that differed (``squeezes_disagree``)
SQUEEZE_WORDS: dict[str, tuple[str, str]] = {
    # the one more squeeze asked for when the first three disagreed
    "more_none": ("", ""),
    "more_confirmed": ("; een vierde keer knijpen kwam overeen met een van de drie",
                       "; a fourth squeeze matched one of the three"),
    "more_unconfirmed": ("; ook een vierde keer knijpen bevestigde er geen",
                         "; a fourth squeeze confirmed none of them either"),
    "what_gentle": ("rustige aanspanningen", "gentle squeezes"),
    "what_maximal": ("maximale aanspanningen", "maximal squeezes"),
    "mvc_gentle": ("geschatte MVC (2 × half)", "estimated MVC (2 × half)"),
    "mvc_maximal": ("MVC", "MVC"),
    "again": (" Kalibreer opnieuw als dat niet klopt.", " Calibrate again if that is wrong."),
    "settled": ("", ""),  # a fourth squeeze confirmed one: no call to calibrate again
}

# --- the patient's sentences ------------------------------------------------------------------
# key -> (Dutch, English, Dutch next time, English next time): what happened, a full
# sentence in the u-form with its subject and no units (no µV, MVC, ×, %, s: numbers stay in
# the therapist's table; a count of times is not a unit), and the one thing to do next time
# when this is the first problem found ("" for a result). In order of what matters most.
ADVICE: dict[str, tuple[str, str, str, str]] = {
    "no_reps": (
        "Er is deze keer geen herhaling beoordeeld.",
        "No repetition could be scored this time.",
        "Volgt u de volgende keer de aanwijzingen op het scherm tot het einde van de "
        "oefening.",
        "Next time, follow the cues on the screen through the whole exercise."),
    "not_judged": (
        "Het signaal was bij een deel van de oefening verstoord; dat deel telt niet mee.",
        "The signal was disturbed during part of the exercise; that part does not count.",
        "Controleert u de volgende keer of de sonde goed zit en of de kabel stil ligt.",
        "Next time, check that the probe sits well and that the cable lies still."),
    "assessment": (
        "Dit was een meting; uw fysiotherapeut bespreekt de uitkomst met u.",
        "This was a measurement; your physiotherapist will discuss the result with you.",
        "Oefent u tot de volgende keer thuis verder zoals u met uw fysiotherapeut hebt "
        "afgesproken.",
        "Until next time, keep practising at home as agreed with your physiotherapist."),
    "straining": (
        "U perste bij sommige herhalingen in plaats van de bekkenbodem aan te spannen.",
        "You pushed down instead of squeezing in some repetitions.",
        "Perst u de volgende keer niet, en blijft u rustig doorademen terwijl u aanspant.",
        "Next time, do not push down, and keep breathing calmly while you squeeze."),
    "co_contraction": (
        "Uw buikspieren spanden mee met de bekkenbodem.",
        "Your abdominal muscles tightened along with the pelvic floor.",
        "Houdt u de volgende keer uw buik, billen en benen ontspannen, en spant u alleen "
        "de bekkenbodem aan.",
        "Next time, keep your belly, buttocks and legs relaxed, and squeeze only the "
        "pelvic floor."),
    "knack_late": (
        "U spande de bekkenbodem soms pas aan nadat het hoesten begon.",
        "You sometimes squeezed the pelvic floor only after the cough had begun.",
        "Knijpt u de volgende keer eerst de bekkenbodem aan, en hoest u pas daarna.",
        "Next time, squeeze the pelvic floor first, and only then cough."),
    "too_strong": (
        "U spande harder aan dan deze rustige oefening vraagt.",
        "You squeezed harder than this gentle exercise asks.",
        "Spant u de volgende keer rustiger aan; zo hard als u kunt is hier niet nodig.",
        "Next time, squeeze more gently; as hard as you can is not needed here."),
    "not_relaxed": (
        "U liet na sommige aanspanningen niet helemaal los.",
        "You did not let go completely after some squeezes.",
        "Laat u de volgende keer na elke aanspanning helemaal los voordat u opnieuw "
        "aanspant.",
        "Next time, let go completely after each squeeze before you squeeze again."),
    "control_faded": (
        "Uw controle over het aanspannen en loslaten werd minder naarmate de oefening "
        "vorderde.",
        "Your control of squeezing and letting go faded as the exercise went on.",
        "Stopt u de volgende keer zodra de controle minder wordt, en rust u dan eerst uit.",
        "Next time, stop as soon as your control fades, and rest first."),
    "hold_shorter": (
        "Uw aanspanningen werden korter naarmate de oefening vorderde.",
        "Your squeezes got shorter as the exercise went on.",
        "Stopt u de volgende keer zodra u de aanspanning niet meer zo lang kunt "
        "vasthouden, en rust u dan eerst uit.",
        "Next time, stop as soon as you can no longer hold the squeeze as long, and rest "
        "first."),
    "weaker": (
        "Uw aanspanningen werden zwakker naarmate de oefening vorderde.",
        "Your squeezes got weaker as the exercise went on.",
        "Stopt u de volgende keer zodra de aanspanningen zwakker worden, en probeert u het "
        "een paar uur later opnieuw.",
        "Next time, stop as soon as the squeezes get weaker, and try again a few hours "
        "later."),
    "quick_not_released": (
        "U liet de laatste snelle aanspanningen niet helemaal los.",
        "You did not let go completely of the last quick squeezes.",
        "Laat u de volgende keer na elke snelle aanspanning meteen helemaal los.",
        "Next time, let go completely and at once after each quick squeeze."),
    "early": (
        "U begon soms al aan te spannen voordat het scherm dat vroeg.",
        "You sometimes began to squeeze before the screen asked you to.",
        "Blijft u de volgende keer ontspannen tot het scherm zegt dat u mag aanspannen.",
        "Next time, stay relaxed until the screen says you may squeeze."),
    "late": (
        "U begon soms pas een tijd na het startsignaal aan te spannen.",
        "You sometimes began to squeeze a while after the start cue.",
        "Let u de volgende keer goed op het startsignaal, en spant u dan meteen aan.",
        "Next time, watch for the start cue, and squeeze straight away."),
    "no_contraction": (
        "Er was bij sommige herhalingen geen aanspanning te zien.",
        "No squeeze could be seen in some repetitions.",
        "Let u de volgende keer goed op het startsignaal, en spant u dan meteen aan.",
        "Next time, watch for the start cue, and squeeze straight away."),
    "held_some": (
        "U hield de aanspanning {met} van de {n} keer zo lang vast als gevraagd.",
        "You held the squeeze as long as asked in {met} of {n} "
        "{n:repetition|repetitions}.",
        "Houdt u de volgende keer elke aanspanning vast tot het scherm zegt dat u mag "
        "ontspannen.",
        "Next time, hold each squeeze until the screen says you may relax."),
    "lift_floors": (
        "De verdiepingen van de lift waren niet altijd goed van elkaar te onderscheiden.",
        "The floors of the lift could not always be told apart.",
        "Bouwt u de lift de volgende keer rustig op, verdieping voor verdieping.",
        "Next time, build the lift up calmly, floor by floor."),
    "lift_release": (
        "U liet de lift niet altijd in één keer los.",
        "You did not always let the lift go in one go.",
        "Laat u de lift de volgende keer in één keer helemaal los.",
        "Next time, let the lift go completely in one go."),
    "incomplete": (
        "U hebt de oefening deze keer niet helemaal afgemaakt.",
        "You did not finish the exercise this time.",
        "Maakt u de oefening de volgende keer af, of stopt u bewust zodra u moe wordt.",
        "Next time, finish the exercise, or stop on purpose as soon as you get tired."),
    # results: said first, no advice of their own
    "held_all": (
        "U hield de aanspanning elke keer zo lang vast als gevraagd.",
        "You held the squeeze as long as asked every time.", "", ""),
    "quick_faded": (
        "U deed {n} snelle {n:aanspanning|aanspanningen} voordat u moe werd.",
        "You did {n} quick {n:squeeze|squeezes} before you got tired.", "", ""),
    "quick_steady": (
        "U deed {n} snelle {n:aanspanning|aanspanningen}, tot het eind van de reeks.",
        "You did {n} quick {n:squeeze|squeezes}, to the end of the set.", "", ""),
    "endurance": (
        "U hield de halve aanspanning zo lang vast als u kon.",
        "You held the half squeeze as long as you could.", "", ""),
    "lift_good": (
        "U bouwde de lift mooi op, verdieping voor verdieping, en liet in één keer los.",
        "You built the lift up well, floor by floor, and let go in one go.", "", ""),
    # nothing found: the exercise went well, keep it up
    "well": (
        "U deed de oefening goed.",
        "You did the exercise well.",
        "Gaat u de volgende keer zo door, en oefent u zoals u met uw fysiotherapeut hebt "
        "afgesproken.",
        "Next time, keep it up, and practise as agreed with your physiotherapist."),
}


def change_text(judged: dict | None, lang: str, unit: str | None = None) -> str:
    """One metric's change between sessions in words: "echte verbetering (+60 %)",
    "binnen de meetfout (+10 %)", "ander apparaat: niet vergeleken"; "-" for none. With a
    ``unit`` the change is shown in it ("binnen de meetfout (+0,2 µV)") instead of in %."""
    if not judged:
        return "-"
    words = lookup(CHANGES, judged["verdict"], lang)
    if judged["verdict"] not in ("improved", "declined", "within_error", "higher", "lower"):
        return words
    if unit is not None and judged.get("change") is not None:
        return words + format_text(" ({v:+.1f} {u})", lang, v=judged["change"],
                                   u=UNITS.get(unit, unit))
    if judged.get("change_pct") is not None:
        return words + format_text(" ({pct:+.0f} %)", lang, pct=judged["change_pct"])
    return words


def metric_change_text(metric: dict | None, lang: str, which: str = "vs_first") -> str:
    """A progress row's metric (``app/change.py``: ``vs_first``, ``vs_previous``) in words,
    its change in % where the figure is relative only (MVC in µV), else in the unit."""
    if not metric:
        return "-"
    shown = None if metric.get("mdc_pct") is not None and metric.get("mdc_floor_uV") is None \
        else metric.get("unit")
    return change_text(metric.get(which), lang, shown)


def trend_text(metric: dict | None, lang: str) -> str:
    """A progress row's metric's trend in words, a real one with its slope for the
    therapist: "gaat vooruit, gestaag (+6,0 µV per week)", "geen trend: binnen de meetfout"."""
    got = (metric or {}).get("trend")
    if not got:
        return "-"
    verdict = got["verdict"]
    words = lookup(TRENDS if verdict in TRENDS else CHANGES, verdict, lang)
    if got.get("shape") and verdict in ("improving", "declining", "rising", "falling"):
        words += ", " + lookup(TRENDS, got["shape"], lang)
    if got.get("slope") is not None and verdict in ("improving", "declining", "rising",
                                                    "falling"):
        unit = UNITS.get(metric.get("unit") or "", metric.get("unit") or "")
        v = got["slope"]
        spec = "+.0f" if abs(v) >= 10 else "+.1f" if abs(v) >= 1 else "+.2f"
        words += format_text(" ({v:" + spec + "} {u} {per})", lang, v=v, u=unit,
                             per=lookup(TRENDS, f"per_{got.get('per', 'session')}", lang))
    return words


def adherence_lines(a: dict, lang: str) -> list[str]:
    """Practice per prescribed plan (``app/history.py``, ``adherence``) in sentences."""
    out = []
    if a.get("target_per_day"):
        lo, hi = a["target_per_day"]
        out.append(text("adherence_a", lang, mean=a["mean_per_day"], lo=lo, hi=hi,
                        on=a["days_on_target"], days=a["days"]))
    for key, words in (("leaflet_b", "adherence_b"), ("other", "adherence_other")):
        plan = a.get(key) or {}
        if plan.get("days_practised"):
            out.append(text(words, lang, n=plan["days_practised"], days=plan["days"]))
    if not out:
        out.append(text("adherence_none", lang))
    if a.get("visits"):
        out.append(text("adherence_visits", lang, n=len(a["visits"])))
    return out


def suggest_reason(s: dict, lang: str) -> str:
    """Why a suggestion (``change`` "none") cannot be accepted, in words."""
    return format_text(pick(SUGGEST_REASONS.get(s.get("reason"), ("-", "-")), lang), lang,
                       **(s.get("reason_values") or {}))


def suggestion_text(s: dict, lang: str, protocol: str | None = None) -> str:
    """A progress suggestion ("a1-strength: vasthouden 5 → 6 s (100 % en 80 % van de
    herhalingen gehaald)"); ``protocol`` is the name to show (default: the id). A refusal
    (``change`` "none") says why nothing is changed."""
    key = f"suggest_{s['change']}"
    name = protocol or s["protocol"]
    if s["change"] == "none":
        head = f"{name}: {suggest_reason(s, lang)}"
    elif key in TEXTS:
        head = text(key, lang, protocol=name, old=s["from"], new=s["to"])
    else:
        head = f"{name}: {s['change']} {s['from']} → {s['to']}"
    code = s.get("why_code")
    if code in ("limit", "quick_end"):
        return f"{head} ({text(f'suggest_why_{code}', lang, limit=s.get('limit'))})"
    shares = s.get("met_shares")
    if not shares:
        return head
    pcts = [format_text("{p:.0f} %", lang, p=100 * x) for x in shares]
    low = code == "met_low" if code else (s["to"] is not None and s["from"] is not None
                                          and s["to"] < s["from"])
    why = "suggest_why_low" if low else "suggest_why"
    return f"{head} ({format_text(pick(TEXTS[why], lang), lang, shares=pcts)})"
