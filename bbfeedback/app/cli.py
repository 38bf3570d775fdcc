"""``bbfeedback`` command line. User mistakes end in one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from bbfeedback import __version__
from bbfeedback.app.analyze import AnalysisOptions, analyze
from bbfeedback.detect.contractions import DetectorConfig
from bbfeedback.drivers.devices import DEVICE_NAMES
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.recording import read_recording


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


def _device_options(p) -> None:
    p.add_argument("--device", choices=DEVICE_NAMES, default="sim",
                   help="sim (built-in simulated sensor, default), p2, cyton, ascii, bitalino")
    p.add_argument("--port", help="serial port or pyserial URL (loop://, socket://host:port)")
    p.add_argument("--rate", type=_positive, help="sample rate in Hz (p2: 250 or 257.1 ...)")
    p.add_argument("--columns", help="ascii: name:emg|pressure:unit[:scale[:offset]],...")
    p.add_argument("--device-file", help="ascii: a TOML device file with the columns")
    p.add_argument("--p2-gain", type=_positive, help="p2: amplifier gain (default 2848)")
    p.add_argument("--p2-vref", type=_positive, help="p2: ADC reference in volts (3.3)")


def _spec_options(args: argparse.Namespace) -> dict:
    return {"columns": args.columns, "device_file": args.device_file,
            "p2_gain": args.p2_gain, "p2_vref": args.p2_vref}


def _add_ports(sub) -> None:
    p = sub.add_parser("ports", help="list serial ports with a guess of the device")
    p.set_defaults(func=_cmd_ports)


def _cmd_ports(args: argparse.Namespace) -> int:
    from bbfeedback.drivers.serial_transport import list_serial_ports

    ports = list_serial_ports()
    if not ports:
        print("no serial ports found (a pyserial URL such as loop:// works too)")
    for p in ports:
        ids = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None else "-"
        print(f"{p.device:<22} {ids:<10} {p.guess or '?':<18} {p.description}")
    return 0


def _add_emulate(sub) -> None:
    p = sub.add_parser("emulate", help="emulate a device on a pseudo-terminal (prints its path)")
    p.add_argument("--device", choices=DEVICE_NAMES, default="p2")
    p.add_argument("--protocol", default="a1-strength", metavar="ID|PATH")
    p.add_argument("--garbage", type=_fraction, default=0.0,
                   help="fraction of packets followed by line noise")
    p.add_argument("--drop", type=_fraction, default=0.0, help="fraction of packets dropped")
    p.add_argument("--seconds", type=_positive, help="stop after this much signal")
    p.add_argument("--unplug-after", type=_positive, metavar="S",
                   help="pull the cable after S seconds")
    p.add_argument("--speed", type=_positive, default=1.0, help="faster than real time")
    p.add_argument("--rate", type=_positive, help="sample rate in Hz")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_emulate)


def _fraction(text: str) -> float:
    value = _positive(text) if text not in ("0", "0.0") else 0.0
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1: {text!r}")
    return value


def _cmd_emulate(args: argparse.Namespace) -> int:
    from bbfeedback.app.sources import device_spec
    from bbfeedback.drivers.emulator import PtyEmulator, make_packets
    from bbfeedback.exercise.simulate import Behaviour, simulate_protocol

    name = "ascii" if args.device == "sim" else args.device
    spec = device_spec(name, args.rate)
    proto = protocols.load(args.protocol)
    ps = simulate_protocol(proto, Behaviour.realistic(args.seed), spec.fs_hz, seed=args.seed,
                           calibrate=True, accessory=True, pressure=True)
    by_name = {s.channel.name: s.data for s in ps.sim.recording.signals}
    n = min(x.size for x in by_name.values())
    if args.seconds:
        n = min(n, int(args.seconds * spec.fs_hz))
    values = np.column_stack([by_name[c.name][:n] for c in spec.channels])
    packets = make_packets(spec, values, args.garbage, args.drop, args.seed)
    emu = PtyEmulator(spec, packets, args.speed, args.unplug_after).start()
    print(emu.port, flush=True)
    try:
        emu.done.wait()
    except KeyboardInterrupt:
        pass
    emu.stop()
    print(f"sent {emu.sent} packets ({int(packets.dropped[:emu.sent].sum())} dropped, "
          f"{sum(1 for k in packets.junk if k < emu.sent)} with noise after)", file=sys.stderr)
    return 0


def _add_record(sub) -> None:
    p = sub.add_parser("record", help="record a device (or the simulated sensor) to EDF+")
    _device_options(p)
    p.add_argument("--seconds", type=_positive, required=True, help="how long to record")
    p.add_argument("--out", required=True, help="EDF+ file to write")
    p.add_argument("--protocol", metavar="ID|PATH",
                   help="run this protocol (with calibration) and annotate cues and scores")
    p.add_argument("--patient", default="X", help="pseudonymous patient id (adds the "
                   "session to the history)")
    p.add_argument("--posture", choices=["lying", "sitting", "standing"])
    p.add_argument("--db", help="history database (with --patient)")
    p.add_argument("--speed", type=_positive, default=1.0, help="sim: faster than real time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", action="store_true",
                   help="print the samples safely on disk after every second")
    p.set_defaults(func=_cmd_record)


def _cmd_record(args: argparse.Namespace) -> int:
    from bbfeedback.app.record import record

    return record(args.device, args.port, args.protocol, args.seconds, args.out, args.patient,
                  args.posture, args.db, args.speed, args.seed, args.progress, args.rate,
                  **_spec_options(args))


def _add_recover(sub) -> None:
    p = sub.add_parser("recover", help="make a recording cut off by a crash valid again")
    p.add_argument("file")
    p.set_defaults(func=_cmd_recover)


def _cmd_recover(args: argparse.Namespace) -> int:
    from bbfeedback.recording.repair import recover

    records, cut, crashed = recover(args.file)
    if not crashed:
        print(f"{args.file}: nothing to recover, the file is complete ({records} data records)")
        return 0
    print(f"{args.file}: recovered {records} data records (every sample up to the crash that "
          "reached the disk)" + (f"; dropped a partial record of {cut} bytes" if cut else ""))
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="copy a recording, optionally anonymised")
    p.add_argument("file")
    p.add_argument("--out", required=True)
    p.add_argument("--anonymise", "--anonymize", action="store_true",
                   help="blank patient, recording and start date header fields")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    import shutil

    from bbfeedback.recording.repair import anonymised_copy

    if args.anonymise:
        anonymised_copy(args.file, args.out)
    else:
        if not Path(args.file).exists():
            raise InputError("no such file", args.file)
        shutil.copyfile(args.file, args.out)
    print(f"wrote {args.out}" + (" (anonymised)" if args.anonymise else ""))
    return 0


def _add_gui(sub) -> None:
    p = sub.add_parser("gui", help="live myofeedback window for therapist and patient")
    p.add_argument("--device", choices=DEVICE_NAMES, default="sim")
    p.add_argument("--port")
    p.add_argument("--protocol", default="a1-strength", metavar="ID")
    p.add_argument("--lang", choices=["nl", "en"], help="default: the system language")
    p.add_argument("--out-dir", help="where recordings go (default ~/bbfeedback-sessions)")
    p.add_argument("--replay", metavar="FILE", help="open a recording to replay")
    p.add_argument("--speed", type=_positive, default=1.0, help="sim/replay speed")
    p.add_argument("--quit-after", type=_positive, metavar="S", help=argparse.SUPPRESS)
    p.add_argument("--screenshot", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_gui)


def _cmd_gui(args: argparse.Namespace) -> int:
    from bbfeedback.gui.app import run

    return run(args.device, args.port, args.protocol, args.lang, args.out_dir, args.speed,
               args.replay, args.quit_after, args.screenshot)


def _add_history(sub) -> None:
    p = sub.add_parser("history", help="a patient's progress and practice (or: history "
                       "rebuild DIR)")
    p.add_argument("patient", nargs="?", help="pseudonymous patient id, or 'rebuild'")
    p.add_argument("folder", nargs="?", help="with rebuild: the folder of EDF recordings")
    p.add_argument("--db", help="history database (default: $BBFEEDBACK_DB or the user's "
                   "data directory)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--accept", metavar="OUT.toml",
                   help="accept the suggested targets: write them as a protocol file")
    p.set_defaults(func=_cmd_history)


def _cmd_history(args: argparse.Namespace) -> int:
    from bbfeedback.app.history import History, progress
    from bbfeedback.app.report import to_json

    hist = History(args.db)
    if args.patient == "rebuild":
        if not args.folder or not Path(args.folder).is_dir():
            raise InputError("history rebuild needs a folder of recordings")
        added, skipped = hist.rebuild(args.folder)
        print(f"{hist.path}: {added} sessions imported from {args.folder}")
        for line in skipped:
            print(f"  skipped {line}", file=sys.stderr)
        return 0
    if not args.patient:
        for pid in hist.patients():
            print(pid)
        return 0
    sessions = hist.sessions(args.patient)
    if not sessions:
        raise InputError(f"no sessions of patient {args.patient!r} in {hist.path}")
    prog = progress(sessions)
    if args.json:
        print(to_json(prog))
    else:
        print(format_progress(args.patient, prog))
    if args.accept:
        if prog.suggestion is None:
            raise InputError("there is no suggestion to accept")
        _accept(prog.suggestion, args.accept)
    return 0


def _accept(s: dict, out: str) -> None:
    base = protocols.load(s["protocol"])
    work = [ph for sec in base.sections for ph in sec.phases if ph.kind == "work"]
    if s["change"] == "hold_s":
        proto = protocols.customise(base, hold_s=s["to"])
    else:
        proto = protocols.customise(base, target_pct_mvc=min(
            100.0, (work[0].target_pct_mvc or 50) + s["to"]))
    Path(out).write_text(protocols.to_toml(proto))
    print(f"wrote {out}: load it with --protocol {out}")


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


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="printable HTML report of a session or of a patient")
    p.add_argument("file", nargs="?", help="a session recording (EDF)")
    p.add_argument("--patient", help="progress over sessions instead of one session")
    p.add_argument("--out", required=True)
    p.add_argument("--lang", choices=["nl", "en"], default="en")
    p.add_argument("--db")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from bbfeedback.app import report

    if args.patient:
        from bbfeedback.app.history import History, progress

        text = report.progress_report(args.patient,
                                      progress(History(args.db).sessions(args.patient)),
                                      args.lang)
    elif args.file:
        text = report.session_report(args.file, args.lang)
    else:
        raise InputError("report needs a session FILE or --patient ID")
    report.write(text, args.out)
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bbfeedback", description="Pelvic-floor myofeedback toolkit")
    parser.add_argument("--version", action="version", version=f"bbfeedback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_analyze(sub)
    _add_protocols(sub)
    _add_ports(sub)
    _add_emulate(sub)
    _add_record(sub)
    _add_recover(sub)
    _add_export(sub)
    _add_gui(sub)
    _add_history(sub)
    _add_report(sub)
    return parser


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"bbfeedback: {record.levelname.lower()}: {record.getMessage()}"


def _log_to_stderr() -> None:
    """Warnings (a damaged annotation, ...) as one line each on stderr."""
    logger = logging.getLogger("bbfeedback")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    _log_to_stderr()
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
