"""``bbfeedback`` command line. User mistakes end in one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__, protocols
from .analysis import AnalysisOptions, analyze
from .contractions import DetectorConfig
from .errors import InputError
from .recording import read_recording


class _Parser(argparse.ArgumentParser):
    """argparse that reports a wrong option in one line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _kinds(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, kind = item.partition("=")
        if not sep or kind not in ("emg", "pressure"):
            raise InputError(f"--kind wants NAME=emg or NAME=pressure, got {item!r}")
        out[name] = kind
    return out


def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="find contractions in a recording (EDF/BDF/CSV)")
    p.add_argument("file", help="EDF, EDF+, BDF(+) or CSV recording")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--mains", choices=["auto", "50", "60", "off"], default="auto",
                   help="mains notch: detect hum (default), force 50/60 Hz, or off")
    p.add_argument("--window-s", type=_positive, default=None,
                   help="RMS envelope window in seconds (default: as recorded, else 0.15)")
    p.add_argument("--channels", help="comma-separated channel names to analyse")
    p.add_argument("--kind", action="append", default=[], metavar="NAME=KIND",
                   help="say a channel's kind explicitly (emg or pressure); repeatable")
    p.add_argument("--min-contraction-s", type=_positive, default=0.3)
    p.add_argument("--min-gap-s", type=_positive, default=0.2)
    p.add_argument("--protocol", metavar="ID|PATH", help="score the repetitions of a protocol")
    p.add_argument("--start-s", type=float, help="when the protocol's first contract cue was "
                   "(default: the cue annotations, else the first contraction)")
    p.add_argument("--main", metavar="NAME", help="channel to score (default: first EMG)")
    p.add_argument("--accessory", metavar="NAME",
                   help="abdominal channel for co-contraction (default: one named abd...)")
    p.add_argument("--lang", choices=["nl", "en"], default="en", help="language of the text")
    p.set_defaults(func=_cmd_analyze)


def _add_protocols(sub) -> None:
    p = sub.add_parser("protocols", help="list the exercise protocols, or show one's timeline")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("protocol", nargs="?", metavar="ID|PATH")
    p.add_argument("--lang", choices=["nl", "en"], default="en")
    p.set_defaults(func=_cmd_protocols)


def _cmd_protocols(args: argparse.Namespace) -> int:
    if args.action == "list":
        for pid in protocols.builtin_ids():
            p = protocols.load(pid)
            print(f"{pid:<18} {p.name[args.lang]:<28} {p.description[args.lang]}")
        return 0
    if not args.protocol:
        raise InputError("protocols show needs an ID or a path")
    print(format_timeline(protocols.load(args.protocol), args.lang))
    return 0


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


def _cmd_analyze(args: argparse.Namespace) -> int:
    rec = read_recording(args.file, _kinds(args.kind))
    options = AnalysisOptions(
        mains=args.mains,
        window_s=args.window_s,
        channels=[c.strip() for c in args.channels.split(",")] if args.channels else None,
        detector=DetectorConfig(min_contraction_s=args.min_contraction_s,
                                min_gap_s=args.min_gap_s),
    )
    proto = protocols.load(args.protocol) if args.protocol else None
    result = analyze(rec, options, proto, args.start_s, args.main, args.accessory)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(format_table(result))
        if proto is not None:
            print(format_reps(result, args.lang))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bbfeedback", description="Pelvic-floor myofeedback toolkit")
    parser.add_argument("--version", action="version", version=f"bbfeedback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_analyze(sub)
    _add_protocols(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except InputError as exc:
        print(f"bbfeedback: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
