"""``bbfeedback`` command line. User mistakes end in one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bbfeedback import __version__, texts
from bbfeedback.app.options import (
    DAY_S,
    Parser,
    count,
    fraction,
    kinds,
    log_to_stderr,
    positive,
    seed,
    within,
)
from bbfeedback.app.terminal import shown
from bbfeedback.drivers.names import DEVICE_NAMES
from bbfeedback.errors import InputError

# Heavy modules (numpy, scipy, pydantic) are imported by the commands that use them, so that
# --version, --help, protocols and ports start at once (benchmarks/bench_startup.py).


def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="find contractions in a recording (EDF/BDF/CSV), "
                       "or in a whole archive of them (several files, folders or globs)")
    p.add_argument("files", nargs="+", metavar="FILE|DIR|GLOB",
                   help="EDF, EDF+, BDF(+) or CSV recording; several, a folder or a glob: "
                   "an archive, one row per contraction and repetition in --out")
    p.add_argument("--out", metavar="FILE.parquet|FILE.csv",
                   help="archive: the table of every file's contractions and repetitions")
    p.add_argument("--jobs", type=count(1, 512), default=None,
                   help="archive: files analysed at once (default: all cores)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="archive: run on this Dask scheduler (tcp://host:8786) instead")
    _force_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--mains", choices=["auto", "50", "60", "off"], default="auto",
                   help="mains notch: detect hum (default), force 50/60 Hz, or off")
    p.add_argument("--window-s", type=within(0.01, 2.0), default=None,
                   help="RMS envelope window in seconds (default: as recorded, else 0.15)")
    p.add_argument("--channels", help="comma-separated channel names to analyse")
    p.add_argument("--kind", action="append", default=[], metavar="NAME=KIND",
                   help="say a channel's kind explicitly (emg or pressure); repeatable")
    p.add_argument("--min-contraction-s", type=within(0.01, 60.0), default=0.3)
    p.add_argument("--min-gap-s", type=within(0.001, 60.0), default=0.2)
    p.add_argument("--protocol", metavar="ID|PATH", help="score the repetitions of a protocol "
                   "(default: the one a bbfeedback recording ran, as it ran)")
    p.add_argument("--start-s", type=within(0.0, DAY_S),
                   help="when the protocol's first contract cue was "
                   "(default: the cue annotations, else the first contraction)")
    p.add_argument("--align", choices=("auto", "cues", "contractions"), default="auto",
                   help="how repetitions meet the protocol: its cue annotations, or each "
                   "repetition at the patient's own contraction (auto: cues when the file "
                   "has them, else the contractions when the protocol's rhythm does not fit)")
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
    from bbfeedback.app import tables
    from bbfeedback.exercise import protocols
    if args.action == "list":
        for pid in protocols.builtin_ids():
            p = protocols.load(pid)
            print(f"{pid:<18} {p.name[args.lang]:<28} {p.description[args.lang]}")
        return 0
    if not args.protocol:
        raise InputError("protocols show needs an ID or a path")
    print(shown(tables.format_timeline(protocols.load(args.protocol), args.lang), lines=True))
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    archive = args.out or args.jobs or args.scheduler is not None or len(args.files) > 1 or any(
        Path(f).is_dir() or (any(ch in f for ch in "*?[") and not Path(f).exists())
        for f in args.files)
    if archive:
        if not (args.out or args.jobs or args.scheduler is not None):
            from bbfeedback.app.archive import expand
            expand(args.files)  # a pattern that matches nothing is said so, before --out
        return _cmd_archive(args)
    args.file = args.files[0]
    from bbfeedback.app import tables
    from bbfeedback.detect.contractions import DetectorConfig
    from bbfeedback.recording import read_recording
    from bbfeedback.recording.annotations import finite
    rec = read_recording(args.file, kinds(args.kind))
    names = {sig.channel.name for sig in rec.signals}
    for name in (args.main, args.accessory):
        if name is not None and name not in names:
            raise InputError(f"no channel named {name!r}", rec.path)
    from bbfeedback.app.analyze import AnalysisOptions, analysis  # scipy: once it is read
    from bbfeedback.app.rescore_setup import protocol_for
    options = AnalysisOptions(
        mains=args.mains,
        window_s=args.window_s,
        channels=[c.strip() for c in args.channels.split(",")] if args.channels else None,
        detector=DetectorConfig(min_contraction_s=args.min_contraction_s,
                                min_gap_s=args.min_gap_s),
    )
    proto = protocol_for(rec, args.protocol, bool(args.channels or args.main))
    found = analysis(rec, options, proto, args.start_s, args.main, args.accessory, args.align)
    result = found.to_dict()
    if found.stopped_in_calibration:
        word = texts.pick(texts.LEVEL_WORDS["warning"], args.lang)
        print(f"bbfeedback: {word}: {shown(rec.path)}: "
              f"{texts.text('stopped_in_calibration', args.lang)}", file=sys.stderr)
    if args.json:
        json.dump(finite(result), sys.stdout, indent=1, allow_nan=False)  # NaN is not JSON
        print()
    else:
        print(shown(tables.format_table(result, args.lang), lines=True))
        if found.scored is not None:  # not when the session ended during its calibration
            print(shown(tables.format_reps(found.scored, args.lang), lines=True))
    return 0


def _cmd_archive(args: argparse.Namespace) -> int:
    """``analyze`` of many files: a table, failures listed (exit 1 when any), not fatal."""
    from bbfeedback.app import archive
    from bbfeedback.recording.outputs import check_output

    single = [o for o in ("json", "start_s", "main", "accessory", "channels") if getattr(
        args, o)] + (["kind"] if args.kind else []) + (["align"] if args.align != "auto" else [])
    if single:
        raise InputError(f"--{single[0].replace('_', '-')} is for one recording; an archive "
                         "is analysed as each file was recorded")
    if not args.out:
        raise InputError("an archive needs --out FILE.parquet or FILE.csv")
    if args.jobs and args.scheduler is not None:
        raise InputError("--jobs and --scheduler exclude each other (the cluster's workers "
                         "are its jobs)")
    if Path(args.out).suffix.lower() not in archive.OUTPUTS:
        raise InputError(f"--out {args.out}: use a .parquet or .csv file name")
    paths = archive.expand(args.files, exclude=args.out)  # not a table of an earlier run
    out = check_output(args.out, args.force, tuple(Path(p) for p in paths))
    if args.protocol:  # one line now, not one per file after reading them all
        from bbfeedback.exercise import protocols

        protocols.load(args.protocol)
    scheduler = None if args.scheduler is None else archive.check_scheduler(args.scheduler)
    rows = archive.run_archive(paths, archive.settings_of(args),
                               args.jobs or archive.default_jobs(), scheduler)
    archive.write_rows(rows, out, args.force, tuple(paths))
    for line in archive.failures(rows):
        print(f"bbfeedback: {shown(line)}", file=sys.stderr)
    print(shown(archive.summary_line(paths, rows, out)))
    return 1 if any(r["kind"] == "error" for r in rows) else 0


def _force_option(p) -> None:
    p.add_argument("--force", action="store_true", help="replace an existing output file")


def _device_options(p) -> None:
    p.add_argument("--device", choices=DEVICE_NAMES, default="sim",
                   help="sim (built-in simulated sensor, default), p2, cyton, ascii, bitalino, "
                   "lsl (a Lab Streaming Layer stream: --stream NAME)")
    p.add_argument("--stream", metavar="NAME", help="lsl: the name of the LSL stream to read")
    p.add_argument("--port", help="serial port or pyserial URL (loop://, socket://host:port)")
    p.add_argument("--rate", type=within(100.0, 20000.0),
                   help="sample rate in Hz (p2: 250 or 257.1 ...)")
    p.add_argument("--columns", help="ascii: name:emg|pressure:unit[:scale[:offset]],...")
    p.add_argument("--device-file", help="ascii: a TOML device file with the columns")
    p.add_argument("--p2-gain", type=within(1.0, 1e6), help="p2: amplifier gain (default 2848)")
    p.add_argument("--p2-vref", type=within(0.1, 100.0),
                   help="p2: ADC reference in volts (3.3)")


def _spec_options(args: argparse.Namespace) -> dict:
    return {"columns": args.columns, "device_file": args.device_file,
            "p2_gain": args.p2_gain, "p2_vref": args.p2_vref, "stream": args.stream}


def _add_ports(sub) -> None:
    p = sub.add_parser("ports", help="list serial ports with a guess of the device")
    p.set_defaults(func=_cmd_ports)


def _cmd_ports(args: argparse.Namespace) -> int:
    from bbfeedback.drivers.ports import list_serial_ports

    ports = list_serial_ports()
    if not ports:
        print("no serial ports found (a pyserial URL such as loop:// works too)")
    for p in ports:
        ids = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None else "-"
        print(shown(f"{p.device:<22} {ids:<10} {p.guess or '?':<18} {p.description}"))
    return 0


def _add_emulate(sub) -> None:
    p = sub.add_parser("emulate", help="emulate a device on a pseudo-terminal (prints its path)")
    p.add_argument("--device", choices=[d for d in DEVICE_NAMES if d != "lsl"], default="p2")
    p.add_argument("--protocol", default="a1-strength", metavar="ID|PATH")
    p.add_argument("--garbage", type=fraction, default=0.0,
                   help="fraction of packets followed by line noise")
    p.add_argument("--drop", type=fraction, default=0.0, help="fraction of packets dropped")
    p.add_argument("--seconds", type=within(0.01, DAY_S), help="stop after this much signal")
    p.add_argument("--unplug-after", type=within(0.01, DAY_S), metavar="S",
                   help="pull the cable after S seconds")
    p.add_argument("--replug-after", type=within(0.01, DAY_S), metavar="S",
                   help="with --unplug-after: plug it back in S seconds later (a new pty)")
    p.add_argument("--stall-after", type=within(0.01, DAY_S), metavar="S",
                   help="fall silent after S seconds, the port staying open")
    p.add_argument("--link", metavar="PATH", help="a symbolic link kept pointing at the pty "
                   "(a stable name across replugs, like /dev/serial/by-id)")
    p.add_argument("--report-sent", metavar="FILE",
                   help="at the end, write what was sent (packets, when) as JSON")
    p.add_argument("--speed", type=within(0.01, 1000.0), default=1.0, help="faster than real time")
    p.add_argument("--rate", type=within(100.0, 20000.0), help="sample rate in Hz")
    p.add_argument("--seed", type=seed, default=0)
    p.set_defaults(func=_cmd_emulate)


def _cmd_emulate(args: argparse.Namespace) -> int:
    from bbfeedback.app.emulate import emulate
    from bbfeedback.app.sources import device_spec
    from bbfeedback.exercise import protocols

    spec = device_spec("ascii" if args.device == "sim" else args.device, args.rate)
    if args.replug_after is not None and args.unplug_after is None:
        raise InputError("--replug-after needs --unplug-after")
    return emulate(spec, protocols.load(args.protocol), args.garbage, args.drop, args.seconds,
                   args.unplug_after, args.speed, args.seed, args.replug_after,
                   args.stall_after, args.link, args.report_sent)


def _add_record(sub) -> None:
    p = sub.add_parser("record", help="record a device (or the simulated sensor) to EDF+")
    _device_options(p)
    p.add_argument("--seconds", type=within(0.01, DAY_S),
                   help="how long to record at most (with --protocol: until its last rest "
                   "ends, unless this is shorter; without: required)")
    p.add_argument("--out", required=True, help="EDF+ file to write")
    _force_option(p)
    p.add_argument("--protocol", metavar="ID|PATH",
                   help="run this protocol (with calibration) and annotate cues and scores")
    p.add_argument("--patient", default="X", help="pseudonymous patient id (adds the "
                   "session to the history)")
    p.add_argument("--posture", choices=["lying", "sitting", "standing"])
    p.add_argument("--calibration", choices=["max", "gentle", "none", "previous"],
                   help="before the protocol: 3 maximal squeezes (max; one more when they "
                   "disagree), 3 gentle half ones "
                   "(gentle, MVC estimated), rest only and scores in µV (none), or rest and the "
                   "MVC of the patient's last session (previous); default: the protocol's, or the "
                   "MVC measured earlier in this visit (same patient and device, within 2 h)")
    p.add_argument("--db", help="history database (with --patient)")
    p.add_argument("--speed", type=within(0.01, 1000.0), default=1.0,
                   help="sim: faster than real time")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--progress", action="store_true",
                   help="print the samples safely on disk after every second")
    p.add_argument("--wait-s", type=within(3.0, 3600.0), default=10.0, metavar="S",
                   help="end (exit status 3, file saved) when the device sends nothing for S "
                   "seconds (default 10; 'no data' is reported after 3)")
    p.add_argument("--lang", choices=["nl", "en"], default="en",
                   help="language of the summary and of the patient's sentences")
    _mains_option(p)
    _lsl_option(p)
    p.set_defaults(func=_cmd_record)


def _cmd_record(args: argparse.Namespace) -> int:
    from bbfeedback.app.record import record

    return record(args.device, args.port, args.protocol, args.seconds, args.out, args.patient,
                  args.posture, args.db, args.speed, args.seed, args.progress, args.rate,
                  args.wait_s, args.force, calibration=args.calibration, lsl=args.lsl,
                  lang=args.lang, mains=args.mains, **_spec_options(args))


def _mains_option(p) -> None:
    p.add_argument("--mains", choices=["50", "60", "off"], default="50",
                   help="the mains frequency whose hum is notched live (default 50: Europe; "
                   "60: the Americas and parts of Asia)")


def _lsl_option(p) -> None:
    p.add_argument("--lsl", action="store_true", help="publish the raw signal, the envelopes "
                   "and markers (cues, contractions, scores) as Lab Streaming Layer streams")


def _add_recover(sub) -> None:
    p = sub.add_parser("recover", help="make a recording cut off by a crash valid again",
                       description="Repairs a recording a crash left unfinished. The repaired "
                       "copy is written beside it as NAME-recovered.edf (or --out); the "
                       "original is left as it was unless --in-place.")
    p.add_argument("file")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="the repaired copy (default NAME-recovered.edf)")
    where.add_argument("--in-place", action="store_true", help="repair the file itself")
    _force_option(p)
    p.set_defaults(func=_cmd_recover)


def _cmd_recover(args: argparse.Namespace) -> int:
    """A copy by default; on a disk with no room for it, the file itself (that needs no new
    space and keeps the same records), said in the one line; exit 4 when the disk refuses
    even that, or when no room is left for an --out the user named."""
    from bbfeedback.recording.repair import WriteFailed, recover_or_in_place, recovered_path

    out = None if args.in_place else (args.out or recovered_path(args.file))
    try:
        got = recover_or_in_place(args.file, out, args.force, fall_back=args.out is None)
    except WriteFailed as exc:
        print(f"bbfeedback: error: {shown(exc)}", file=sys.stderr)
        return WriteFailed.exit_status
    if not got.crashed:
        print(f"{shown(args.file)}: nothing to recover, the file is complete ({got.records} data "
              "records)")
        return 0
    if got.no_room:
        where = (f"{shown(args.file)} itself: no room for a copy beside it "
                 f"({shown(got.no_room)}), and "
                 "repairing in place needs none")
    elif got.in_place:
        where = shown(args.file)
    else:
        where = f"{shown(out)} (the original is left as it was)"
    print(f"recovered {got.records} data records into {where}: every sample up to the crash "
          "that reached the disk"
          + (f"; dropped a partial record of {got.cut} bytes" if got.cut else ""))
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="copy a recording, optionally anonymised")
    p.add_argument("file")
    p.add_argument("--out", required=True)
    p.add_argument("--anonymise", "--anonymize", action="store_true",
                   help="blank every free-text field (patient, recording, start date, "
                   "annotation texts, transducer, prefiltering) and list what was kept and why")
    _force_option(p)
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from bbfeedback.app.anonymise import export_file

    report = export_file(args.file, args.out, args.anonymise, args.force)
    print(f"wrote {shown(args.out)}" + (" (anonymised)" if args.anonymise else ""))
    for line in report.lines():  # what an anonymised copy kept, and why
        print(f"  {shown(line)}")
    return 0


def _add_export_bids(sub) -> None:
    p = sub.add_parser("export-bids", help="write recordings as an EMG-BIDS dataset (BIDS 1.11)",
                       description="Writes EDF/BDF recordings as an EMG-BIDS dataset: "
                       "anonymised copies, participants by pseudonymous code only, one session "
                       "per recording, cues, contractions and repetition scores as events.")
    p.add_argument("recordings", nargs="+", metavar="RECORDING",
                   help="EDF/BDF recordings, or folders of them")
    p.add_argument("--out", required=True, metavar="DIR", help="the dataset folder to create")
    p.add_argument("--subject", metavar="CODE", help="the participant's pseudonymous code "
                   "(then the headers' patient fields are not used; default: the code in "
                   "each header)")
    p.add_argument("--force", action="store_true",
                   help="replace the folder if it is an earlier bbfeedback BIDS export")
    p.set_defaults(func=_cmd_export_bids)


def _cmd_export_bids(args: argparse.Namespace) -> int:
    from bbfeedback.app.bids import export_bids

    done = export_bids(args.recordings, args.out, args.force, args.subject)
    n, p, k = len(done.files), len(done.participants), len(done.skipped)
    print(f"wrote {shown(done.out)}: {n} recording{'s' * (n != 1)} of {p} "
          f"participant{'s' * (p != 1)} (EMG-BIDS)"
          + (f"; {k} skipped, still being recorded or cut off (named above)" if k else ""))
    return 0


def _add_gui(sub) -> None:
    p = sub.add_parser("gui", help="live myofeedback window for therapist and patient")
    p.add_argument("--device", choices=DEVICE_NAMES,
                   help="default sim; with --protocol too the session starts at once")
    p.add_argument("--port")
    p.add_argument("--stream", metavar="NAME", help="lsl: the name of the LSL stream to read")
    _lsl_option(p)
    p.add_argument("--protocol", metavar="ID", help="default a1-strength")
    p.add_argument("--patient", metavar="CODE", help="pseudonymous code (recorded into the "
                   "history); none: the file is recorded without a patient")
    p.add_argument("--lang", choices=["nl", "en"], help="default: the system language")
    p.add_argument("--posture", choices=["lying", "sitting", "standing"],
                   help="the patient's posture (chosen in the window too)")
    p.add_argument("--out-dir", help="where recordings go (default ~/bbfeedback-sessions)")
    p.add_argument("--replay", metavar="FILE", help="open a recording to replay")
    p.add_argument("--seed", type=seed, default=None,
                   help="sim: the same simulated patient each time (default: another one "
                   "each session)")
    p.add_argument("--speed", type=within(0.01, 1000.0), default=1.0, help="sim/replay speed")
    p.add_argument("--quit-after", type=positive, metavar="S", help=argparse.SUPPRESS)
    p.add_argument("--screenshot", help=argparse.SUPPRESS)
    _mains_option(p)
    p.set_defaults(func=_cmd_gui)


def _cmd_gui(args: argparse.Namespace) -> int:
    from bbfeedback.recording.outputs import check_folder

    if args.protocol:  # a mistyped protocol is said before "no display" or a window
        from bbfeedback.exercise import protocols

        protocols.load(args.protocol)
    if args.replay:  # a file that cannot be replayed is one line, before any window opens
        from bbfeedback.app.replay import replayable

        replayable(args.replay)
    if args.out_dir:
        check_folder(args.out_dir)
    from bbfeedback.gui.app import run

    if args.patient is not None:
        from bbfeedback.app.recorder import check_patient_id

        check_patient_id(args.patient)
    if args.stream and args.device != "lsl":
        raise InputError("--stream is for --device lsl (the name of an LSL stream)")
    start = args.device is not None and args.protocol is not None and not args.replay
    if start and args.device not in ("sim", "lsl") and not args.port:
        raise InputError(f"--device {args.device} needs --port (a serial port, a pyserial URL, "
                         "or 'emulated')")
    if args.port and args.port.startswith("/") and not Path(args.port).exists():
        raise InputError("no such port (see bbfeedback ports)", args.port)
    return run(args.device or "sim", args.stream or args.port, args.protocol or "a1-strength",
               args.lang, args.out_dir, args.speed, args.replay, args.quit_after,
               args.screenshot, start=start, patient=args.patient, lsl=args.lsl,
               mains=args.mains, posture=args.posture, seed=args.seed)


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
    p.add_argument("--lang", choices=["nl", "en"], default="en", help="language of the table")
    p.add_argument("--include-incomplete", action="store_true",
                   help="count sessions stopped early in progress and practice too")
    _force_option(p)
    p.set_defaults(func=_cmd_history)


def _cmd_history(args: argparse.Namespace) -> int:
    from bbfeedback import texts as words
    from bbfeedback.app import tables
    from bbfeedback.app.history import History, progress
    from bbfeedback.app.report import to_json
    from bbfeedback.exercise import protocols

    if args.patient == "rebuild":  # a full disk: one line, exit 4, the database whole
        from bbfeedback.app.history import RebuildStopped, rebuild_history

        if not args.folder:
            raise InputError("history rebuild needs a folder of recordings")
        if not Path(args.folder).exists():
            raise InputError("folder does not exist", args.folder)
        if not Path(args.folder).is_dir():
            raise InputError("is not a folder (history rebuild needs a folder of recordings)",
                             args.folder)
        try:
            path, added, skipped = rebuild_history(args.folder, args.db)
        except RebuildStopped as exc:
            for line in exc.skipped:
                print(f"  skipped {shown(line)}", file=sys.stderr)
            print(f"bbfeedback: error: {shown(exc)}", file=sys.stderr)
            return RebuildStopped.exit_status
        print(f"{shown(path)}: {added} sessions imported from {shown(args.folder)}, "
              f"{len(skipped)} files skipped")
        for line in skipped:
            print(f"  skipped {shown(line)}", file=sys.stderr)
        return 0
    if args.accept and not args.patient:
        raise InputError("--accept needs a patient: bbfeedback history PATIENT --accept OUT.toml")
    hist = History(args.db, create=False)  # only read: a mistyped --db is made never
    if not args.patient:
        for pid in hist.patients():
            print(shown(pid))
        return 0
    sessions = hist.sessions(args.patient)
    if not sessions:
        raise InputError(f"no sessions of patient {args.patient!r} in {hist.path}")
    prog = progress(sessions, include_incomplete=args.include_incomplete)
    if args.json:
        print(to_json(prog))
    else:
        print(shown(tables.format_progress(args.patient, prog, args.lang), lines=True))
    if args.accept:
        if prog.suggestion is None:
            raise InputError("there is no suggestion to accept: one is made after two sessions "
                             "of the same exercise with at least 80 % (or both under 40 %) of "
                             "their repetitions met")
        from bbfeedback.app.history import accept_suggestion
        from bbfeedback.recording.outputs import write_private

        write_private(args.accept, protocols.to_toml(accept_suggestion(prog.suggestion)),
                      args.force)
        print(words.text("accepted_wrote", args.lang, file=shown(args.accept)))
    return 0


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="printable HTML report of a session or of a patient")
    p.add_argument("file", nargs="?", help="a session recording (EDF)")
    p.add_argument("--patient", help="progress over sessions instead of one session")
    p.add_argument("--include-incomplete", action="store_true",
                   help="with --patient: count sessions stopped early too")
    p.add_argument("--out", required=True)
    _force_option(p)
    p.add_argument("--lang", choices=["nl", "en"], default="en")
    p.add_argument("--db")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from bbfeedback.app import report
    from bbfeedback.recording.outputs import check_output

    if args.file and args.patient:  # one report: the file's own would be silently dropped
        raise InputError("report makes one report: a session FILE or --patient ID, not both")
    check_output(args.out, args.force, (args.file,) if args.file else ())
    if args.patient:
        from bbfeedback.app.history import History, progress

        hist = History(args.db, create=False)  # only read: a mistyped --db is made never
        text = report.progress_report(args.patient,
                                      progress(hist.sessions(args.patient),
                                               include_incomplete=args.include_incomplete),
                                      args.lang)
        hist.close()
    elif args.file:
        text = report.session_report(args.file, args.lang)
    else:
        raise InputError("report needs a session FILE or --patient ID")
    report.write(text, args.out, args.force, (args.file,) if args.file else ())
    print(f"wrote {shown(args.out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bbfeedback", description="Pelvic-floor myofeedback toolkit")
    parser.add_argument("--version", action="version", version=f"bbfeedback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _add_analyze(sub)
    _add_protocols(sub)
    _add_ports(sub)
    _add_emulate(sub)
    _add_record(sub)
    _add_recover(sub)
    _add_export(sub)
    _add_export_bids(sub)
    _add_gui(sub)
    _add_history(sub)
    _add_report(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line; Ctrl-C at any moment (even while options are read and modules
    imported) ends it with status 130 and no traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return 130


def _main(argv: list[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a terminal without µ or ±: '?' not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    lang = message_language(sys.argv[1:] if argv is None else argv)
    log_to_stderr(lang)
    Parser.lang = lang
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):  # one line: what to type (--help says the rest)
        commands = next(a for a in parser._subparsers._group_actions
                        if isinstance(a, argparse._SubParsersAction)).choices
        print(f"usage: bbfeedback COMMAND ... (a command: {', '.join(commands)}; "
              "bbfeedback --help says more)", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except InputError as exc:
        print(_one_line(texts.error_line(texts.said(exc, lang), lang)), file=sys.stderr)
        return getattr(exc, "exit_status", 2)  # (4: the disk refused a write)
    except BrokenPipeError:
        return 0


def message_language(argv: list[str]) -> str:
    """The language of the command's messages: its ``--lang``, else for the window the
    system's (as the window itself), else English (the commands' default)."""
    for k, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return "nl" if arg == "--lang=nl" else "en"
        if arg == "--lang" and k + 1 < len(argv):
            return "nl" if argv[k + 1] == "nl" else "en"
    return texts.system_language() if "gui" in argv[:1] else "en"


def _one_line(text: str) -> str:
    """An error as one line the terminal shows and does not act on: control characters (a
    newline, an escape sequence in a file's name) written as ``\x1b``, the bytes of a name
    that is not UTF-8 as ``\xff`` (``terminal.shown``)."""
    return shown(text)


if __name__ == "__main__":
    sys.exit(main())
