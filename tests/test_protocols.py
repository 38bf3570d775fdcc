"""Protocols as data: every spec id, Dutch and English cues, therapist edits, named errors."""

import dataclasses
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import BB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols

SPEC_IDS = ["a1-strength", "a2-endurance", "a3-quick", "a-daily", "b1-awareness",
            "b2-contract-relax", "b3-long-hold", "b4-wink", "b5-lift", "glazer", "perfect"]
OPTIONAL_IDS = ["b3-cough"]  # leaflet B's optional cue exercise: "knijp voor u hoest of niest"


def test_every_protocol_of_the_spec_is_shipped_and_valid():
    assert sorted(SPEC_IDS + OPTIONAL_IDS) == protocols.builtin_ids()
    for pid in SPEC_IDS + OPTIONAL_IDS:
        p = protocols.load(pid)
        assert p.name["nl"] and p.name["en"] and p.description["en"]
        steps = p.timeline()
        assert any(s.phase.kind == "work" for s in steps)
        for s in steps:
            assert s.phase.cue_nl and s.phase.cue_en and s.phase.duration_s > 0


def test_leaflet_parameters():
    a1 = protocols.load("a1-strength").timeline()
    work = [s for s in a1 if s.phase.kind == "work"]
    assert len(work) == 5 and all(s.phase.hold_s == 5 for s in work)
    assert all(a1[s.index + 1].phase.duration_s == 4 for s in work)
    assert work[0].phase.cue_nl == "Knijp zo hard als u kunt"
    relax = a1[work[0].index + 1].phase
    assert (relax.cue_nl, relax.cue_en) == ("Ontspannen", "Relax")
    a2 = [s for s in protocols.load("a2-endurance").timeline() if s.phase.kind == "work"]
    assert len(a2) == 2 and a2[0].phase.until_fail and a2[0].phase.target_pct_mvc == 50
    daily = protocols.load("a-daily")
    assert [s.name for s in daily.sections] == ["strength", "endurance", "quick"]


def test_lift_has_three_ascending_floors_then_one_release():
    steps = protocols.load("b5-lift").timeline()
    rep1 = [s for s in steps if s.rep == 1]
    assert [s.phase.target_pct_mvc for s in rep1] == [25, 50, 75]
    after = steps[rep1[-1].index + 1].phase
    assert after.kind == "rest" and after.cue_nl == "In één keer loslaten, helemaal ontspannen"


def test_awareness_in_three_postures():
    postures = {s.posture for s in protocols.load("b1-awareness").timeline() if s.rep}
    assert postures == {"upright", "rounded back", "hollow back"}


def test_glazer_schedule_segments():
    steps = protocols.load("glazer").timeline()
    by = {}
    for s in steps:
        by.setdefault(s.section, []).append(s)
    assert by["pre-baseline"][0].phase.duration_s == 60
    assert [s.phase.hold_s for s in by["phasic"] if s.phase.kind == "work"] == [1.0] * 5
    tonic = [s for s in by["tonic"] if s.phase.kind == "work"]
    assert len(tonic) == 5 and all(s.phase.hold_s == 10 for s in tonic)
    assert all(s.phase.duration_s == 10 for s in by["tonic"] if s.phase.kind == "rest")
    assert by["endurance"][0].phase.hold_s == 60
    assert by["post-baseline"][0].phase.duration_s == 60


def test_therapist_copy_with_longer_hold_loads_by_path(tmp_path):
    text = (protocols.HERE / "a1-strength.toml").read_text()
    text = text.replace("hold_s = 5.0", "hold_s = 8.0").replace("repetitions = 5",
                                                                "repetitions = 6")
    text = text.replace("target_pct_mvc = 100.0", "target_pct_mvc = 60.0")
    text = text.replace("band_pct_mvc = [60.0, 300.0]", "band_pct_mvc = [45.0, 80.0]")
    path = tmp_path / "mine.toml"
    path.write_text(text)
    p = protocols.load(str(path))
    work = [s for s in p.timeline() if s.phase.kind == "work"]
    assert len(work) == 6 and work[0].phase.hold_s == 8 and work[0].phase.target_pct_mvc == 60


BAD = {
    "hold_s = 5.0": ("hold_s = -2.0", "section[0].phase[0].hold_s: must be a finite number > 0 "
                                      "(got -2.0)"),
    "repetitions = 5": ("repetitions = 0", "section[0].repetitions: must be a whole number"),
    "band_pct_mvc = [60.0, 300.0]": ("band_pct_mvc = [80.0, 20.0]",
                                     "section[0].phase[0].band_pct_mvc: must be [low, high]"),
    'cue = "relax"': ('cue = "dance"', "section[0].phase[1].cue: unknown cue 'dance'"),
    'scoring = "holds"': ('scoring = "vibes"', "scoring: must be one of"),
    'kind = "rest"': ('kind = "nap"', "section[0].phase[1].kind: must be work, rest or"),
    "duration_s = 4.0": ("duration_s = \"four\"", "section[0].phase[1].duration_s: must be a"),
    "lead_in_s = 5.0": ("lead_in_s = 5.0\nhold_time = 3", "hold_time: unknown field"),
    'name = "strength"': ('name = "strength"\nscoring = "vibes"',
                          "section[0].scoring: must be one of"),
    'source = "Leaflet A, exercise 1"': ('source = "x"\nsets_per_day = [6, 4]',
                                         "sets_per_day: must be [fewest, most]"),
}


def _load_edited(tmp_path, old: str, new: str, name: str = "bad.toml") -> protocols.Protocol:
    """a1-strength with one text replaced, loaded from a file of its own."""
    text = (protocols.HERE / "a1-strength.toml").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return protocols.load(str(path))


def _error(load) -> str:
    """The one line a bad protocol fails with (never another exception)."""
    with pytest.raises(InputError) as err:
        load()
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("old", sorted(BAD))
def test_wrong_file_names_file_and_field(tmp_path, old):
    new, message = BAD[old]
    got = _error(lambda: _load_edited(tmp_path, old, new))
    assert got.startswith(f"protocol {tmp_path / 'bad.toml'}: ") and message in got


def test_not_toml_and_missing(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("id = [unclosed")
    with pytest.raises(InputError, match="not valid TOML"):
        protocols.load(str(path))
    with pytest.raises(InputError, match="no protocol with this id or path"):
        protocols.load("a9-nonsense")


def test_cli_lists_and_shows():
    out = subprocess.run([*BB, "protocols"], capture_output=True, text=True)
    assert out.returncode == 0
    assert all(pid in out.stdout for pid in SPEC_IDS)
    show = subprocess.run([*BB, "protocols", "show", "b5-lift", "--lang", "nl"],
                          capture_output=True, text=True)
    assert show.returncode == 0 and "Verdieping 3: nog harder" in show.stdout
    assert "75 % MVC" in show.stdout
    bad = subprocess.run([*BB, "protocols", "show", "zz"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


def _reloaded(protocol, tmp_path, name="copy.toml"):
    path = tmp_path / name
    path.write_text(protocols.to_toml(protocol))
    return protocols.load(str(path))


def _same(a, b):
    """Equal in every field but ``path`` (where each was read from), field by field first so
    that a failure names what differs."""
    for f in dataclasses.fields(protocols.Protocol):
        if f.name not in ("path", "sections"):
            assert getattr(a, f.name) == getattr(b, f.name), f.name
    assert len(a.sections) == len(b.sections)
    for k, (sa, sb) in enumerate(zip(a.sections, b.sections, strict=True)):
        for f in dataclasses.fields(protocols.Section):
            if f.name != "phases":
                assert getattr(sa, f.name) == getattr(sb, f.name), f"section[{k}].{f.name}"
        assert len(sa.phases) == len(sb.phases), f"section[{k}].phases"
        for j, (pa, pb) in enumerate(zip(sa.phases, sb.phases, strict=True)):
            for f in dataclasses.fields(protocols.Phase):
                assert getattr(pa, f.name) == getattr(pb, f.name), \
                    f"section[{k}].phase[{j}].{f.name}"
    assert a.timeline() == b.timeline()
    assert dataclasses.replace(a, path="") == dataclasses.replace(b, path="")


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_to_toml_round_trips_every_bundled_protocol(pid, tmp_path):
    original = protocols.load(pid)
    again = _reloaded(original, tmp_path)
    assert again.path == str(tmp_path / "copy.toml") and original.path != again.path
    _same(original, again)
    _same(again, _reloaded(again, tmp_path, "copy2.toml"))  # and stays so


def test_customised_daily_set_keeps_its_exercises(tmp_path):
    daily = protocols.load("a-daily")
    assert [s.scoring for s in daily.sections] == ["holds", "endurance", "quick"]
    assert daily.sets_per_day == (4, 6)
    for kw in ({"hold_s": 6.0}, {"target_pct_mvc": 80.0}, {"rest_s": 7.0},
               {"repetitions": 4}, {"hold_s": 3.0, "rest_s": 5.0, "repetitions": 3,
                                    "target_pct_mvc": 55.0}):
        mine = protocols.customise(daily, **kw)
        assert mine != daily, kw
        again = _reloaded(mine, tmp_path)
        _same(mine, again)
        assert [s.scoring for s in again.sections] == ["holds", "endurance", "quick"], kw
        assert again.sets_per_day == (4, 6) and again.param("fatigue_fraction") == 0.6


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_to_toml_round_trips_customised_protocols(pid, tmp_path):
    mine = protocols.customise(protocols.load(pid), hold_s=7.5, rest_s=3.25, repetitions=2,
                               target_pct_mvc=45.0)
    _same(mine, _reloaded(mine, tmp_path))


def test_to_toml_keeps_what_a_therapist_may_write(tmp_path):
    text = (protocols.HERE / "a1-strength.toml").read_text()
    text = text.replace('source = "Leaflet A, exercise 1"',
                        'source = "Mine: \\"quoted\\", back\\\\slash, tab\\there"\n'
                        'sets_per_day = [2, 3]\nrelease_quick_s = 2.5')
    text = text.replace('name = { nl = "Kracht", en = "Strength" }',
                        'name = { nl = "Kracht", en = "Strength", de = "Kraft" }')
    text = text.replace('  cue = "relax"\n',
                        '  cue = "mine"\n  cue_nl = "Lós\\nlaten"\n  cue_en = "Let go"\n')
    text = text.replace("  hold_s = 5.0\n",
                        "  hold_s = 5.0\n  duration_s = 7.5\n  band_uV = [12.0, 60.0]\n")
    text = text.replace('repetitions = 5', 'repetitions = 5\nposture = "lying"')
    path = tmp_path / "mine.toml"
    path.write_text(text)
    mine = protocols.load(str(path))
    work = mine.sections[0].phases[0]
    assert (work.duration_s, work.band_abs, work.abs_unit, work.target_abs) == \
        (7.5, (12.0, 60.0), "uV", None)
    assert mine.name["de"] == "Kraft" and mine.sets_per_day == (2, 3)
    assert mine.sections[0].phases[1].cue_nl == "Lós\nlaten"
    _same(mine, _reloaded(mine, tmp_path))


# Faults at the edge (issue 11): a wrong protocol is one named line, never a traceback.

EDITS = {  # a1-strength with one text replaced: (old, new, the error's field and problem)
    "cue-list": ('cue = "relax"', 'cue = ["a"]',
                 "section[0].phase[1].cue: must be a cue name as text (got ['a'])"),
    "reps-huge": ("repetitions = 5", "repetitions = 100000000",
                  "section[0].repetitions: must be a whole number from 1 to 1000 "
                  "(got 100000000)"),
    "reps-float": ("repetitions = 5", "repetitions = 5.0", "repetitions: must be a whole"),
    "reps-bool": ("repetitions = 5", "repetitions = true", "repetitions: must be a whole"),
    "until-no": ("hold_s = 5.0", 'hold_s = 5.0\n  until_fail = "no"',
                 "section[0].phase[0].until_fail: must be true or false (got 'no')"),
    "until-1": ("hold_s = 5.0", "hold_s = 5.0\n  until_fail = 1", "must be true or false"),
    "nan": ("duration_s = 4.0", "duration_s = nan",
            "section[0].phase[1].duration_s: must be a finite number > 0 (got nan)"),
    "inf": ("duration_s = 4.0", "duration_s = inf", "duration_s: must be a finite number > 0"),
    "-inf": ("duration_s = 4.0", "duration_s = -inf", "duration_s: must be a finite number > 0"),
    "negative": ("duration_s = 4.0", "duration_s = -1", "must be a finite number > 0 (got -1)"),
    "zero": ("duration_s = 4.0", "duration_s = 0", "must be a finite number > 0 (got 0)"),
    "1e300": ("duration_s = 4.0", "duration_s = 1e300", "duration_s: must be at most 4 h"),
    "bool-number": ("hold_s = 5.0", "hold_s = true", "hold_s: must be a finite number > 0"),
    "date-number": ("lead_in_s = 5.0", "lead_in_s = 1979-05-27", "lead_in_s: must be a finite"),
    "too-long": ("duration_s = 4.0", "duration_s = 4000.0",
                 "section: the session would last 5.6 h; at most 4 h"),
    "no-kind": ('kind = "rest"\n', "", "section[0].phase[1].kind: missing"),
    "unknown-top": ("lead_in_s = 5.0", "lead_in_s = 5.0\ncolour = 1", "colour: unknown field"),
    "unknown-section": ("repetitions = 5", "repetitions = 5\ncolour = 1",
                        "section[0].colour: unknown field"),
    "unknown-phase": ('kind = "rest"', 'kind = "rest"\n  colour = 1',
                      "section[0].phase[1].colour: unknown field"),
    "name-text": ('name = { nl = "Kracht", en = "Strength" }', 'name = "Kracht"',
                  "name: must be a table with nl and en texts"),
    "name-no-en": ('name = { nl = "Kracht", en = "Strength" }', 'name = { nl = "Kracht" }',
                   "name: must be a table with nl and en texts"),
    "id-empty": ('id = "a1-strength"', 'id = ""', "id: must be a text, not empty"),
    "hold-over-phase": ("hold_s = 5.0", "hold_s = 5.0\n  duration_s = 2.0",
                        "section[0].phase[0].duration_s: shorter than hold_s + reach_s"),
    "target-outside-band": ("target_pct_mvc = 100.0", "target_pct_mvc = 20.0",
                            "target_pct_mvc: 20 is outside its band [60, 300]"),
    "pct-huge": ("target_pct_mvc = 100.0", "target_pct_mvc = 1e9",
                 "target_pct_mvc: must be at most 1000"),
    "band-nan": ("band_pct_mvc = [60.0, 300.0]", "band_pct_mvc = [nan, 300.0]",
                 "band_pct_mvc: must be [low, high]"),
    "band-three": ("band_pct_mvc = [60.0, 300.0]", "band_pct_mvc = [60.0, 100.0, 300.0]",
                   "band_pct_mvc: must be [low, high]"),
    "rest-with-hold": ("duration_s = 4.0", "duration_s = 4.0\n  hold_s = 3.0",
                       "section[0].phase[1].hold_s: only for work phases"),
    "two-units": ("hold_s = 5.0", "hold_s = 5.0\n  target_uV = 5.0\n  target_cmH2O = 3.0",
                  "section[0].phase[0].target_uV: give an absolute target in one unit only"),
    "max-without-until": ("hold_s = 5.0", "hold_s = 5.0\n  max_s = 30.0",
                          "section[0].phase[0].max_s: only with until_fail = true"),
    "rest-no-duration": ("duration_s = 4.0\n", "", "section[0].phase[1].duration_s: missing"),
    "work-no-hold": ("hold_s = 5.0\n", "", "section[0].phase[0].hold_s: missing"),
    "fraction-over-1": ("lead_in_s = 5.0", "lead_in_s = 5.0\nfatigue_fraction = 1.5",
                        "fatigue_fraction: must be a finite number > 0 and at most 1"),
    "several": ("repetitions = 5", "repetitions = 0\nposture = 3",
                "section[0].repetitions: must be a whole number from 1 to 1000 (got 0) "
                "(and 1 more)"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_wrong_value_is_one_named_line(tmp_path, case):
    old, new, problem = EDITS[case]
    got = _error(lambda: _load_edited(tmp_path, old, new, "my.toml"))
    assert got.startswith(f"protocol {tmp_path / 'my.toml'}: ")
    assert problem in got, got


DOCUMENTS = {  # whole files: (content, the error after "protocol <file>: ")
    "empty": (b"", "id: missing"),
    "syntax": (b"id = [unclosed", "not valid TOML"),
    "not-utf8": (b'id = "\xff\xfe"\n', "cannot read ("),
    "nested-deep": (b"id = " + b"[" * 5000 + b"]" * 5000, "not valid TOML"),
    "huge": (b"#" * (protocols.MAX_FILE_BYTES + 1), "larger than"),
    "section-number": (b'id = "x"\nsection = [1]\n', "section[0]: must be a table (got 1)"),
    "section-text": (b'id = "x"\nsection = "abc"\n', "section: must be a list"),
    "section-one-table": (b'id = "x"\n[section]\nname = "a"\n', "section: must be a list"),
    "section-no-phase": (b'id = "x"\n[[section]]\nname = "a"\n', "section[0].phase: missing"),
    "phase-empty": (b'id = "x"\n[[section]]\nphase = []\n', "section[0].phase: must not be"),
    "no-section": (b'id = "x"\n', "section: missing"),
    "only-rest": (b'id = "x"\n[[section]]\n[[section.phase]]\nkind = "rest"\nduration_s = 3\n',
                  "section: no work phase"),
    "too-many-phases": (b'id = "x"\n' + b'[[section]]\nrepetitions = 1000\n[[section.phase]]\n'
                        b'kind = "work"\nhold_s = 0.001\nreach_s = 0\ntarget_pct_mvc = 50\n'
                        * 101, "section: the session would have 101000 phases"),
    "include-number": (b'id = "x"\ninclude = [3]\n', "include: must be a list of protocol ids"),
    "include-missing": (b'id = "x"\ninclude = ["a9-nonsense"]\n',
                        "include[0]: 'a9-nonsense' is not a protocol id or the path"),
    "include-nul": (b'id = "x"\ninclude = ["a\\u0000b"]\n', "include[0]: 'a\\x00b' is not"),
}


@pytest.mark.parametrize("case", sorted(DOCUMENTS))
def test_a_wrong_file_is_one_named_line(tmp_path, case):
    content, problem = DOCUMENTS[case]
    path = tmp_path / "my.toml"
    path.write_bytes(content)
    got = _error(lambda: protocols.load(str(path)))
    assert got.startswith(f"protocol {path}: {problem}"), got


def test_an_include_of_itself_or_a_cycle_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "self.toml").write_text('id = "self"\ninclude = ["self.toml"]\n')
    got = _error(lambda: protocols.load("self.toml"))
    assert got == "protocol self.toml: include[0]: 'self.toml' includes itself (self -> self)"
    (tmp_path / "a.toml").write_text('id = "a"\ninclude = ["a1-strength", "b.toml"]\n')
    (tmp_path / "b.toml").write_text(f'id = "b"\ninclude = ["{tmp_path / "a.toml"}"]\n')
    got = _error(lambda: protocols.load("a.toml"))
    assert got.startswith("protocol b.toml: include[0]: ")  # the file that closes it
    assert got.endswith("includes itself (a -> b -> a)")
    (tmp_path / "c.toml").write_text('id = "a1-strength"\ninclude = ["a1-strength"]\n')
    assert protocols.load("c.toml").sections == protocols.load("a1-strength").sections


def test_an_included_files_error_names_that_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub.toml").write_text('id = "sub"\nlead_in_s = nan\n')
    (tmp_path / "top.toml").write_text('id = "top"\ninclude = ["sub.toml"]\n')
    assert _error(lambda: protocols.load("top.toml")) == \
        "protocol sub.toml: lead_in_s: must be a finite number >= 0 (got nan)"


def test_a_recorded_protocol_includes_only_bundled_ones(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text((protocols.HERE / "a1-strength.toml").read_text())
    assert protocols.load(str(mine)).sections == protocols.load("a1-strength").sections
    text = f'id = "x"\ninclude = ["{mine}"]\n'
    got = _error(lambda: protocols.loads(text, "s.edf (recorded protocol)"))
    assert got == (f"protocol s.edf (recorded protocol): include[0]: '{mine}' is not a "
                   "bundled protocol id")
    daily = protocols.loads('id = "d"\ninclude = ["a1-strength", "a3-quick"]\n', "s.edf")
    assert [s.name for s in daily.sections] == ["strength", "quick"]


def test_bundled_protocols_are_within_the_limits():
    for pid in protocols.builtin_ids():
        p = protocols.load(pid)
        assert 0 < p.duration_s <= protocols.MAX_SESSION_S
        assert all(1 <= s.repetitions <= protocols.MAX_REPETITIONS for s in p.sections)


def test_every_scoring_parameter_is_in_the_schema():
    from bbfeedback.exercise.protocols import schema

    assert set(protocols.PARAMS) <= set(schema.ProtocolDoc.model_fields)


def test_cli_names_a_bad_file_in_one_line(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text((protocols.HERE / "a1-strength.toml").read_text().replace(
        "duration_s = 4.0", "duration_s = nan"))
    bad = subprocess.run([*BB, "protocols", "show", str(path)], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and bad.stderr == (
        f"bbfeedback: error: protocol {path}: section[0].phase[1].duration_s: must be a finite "
        "number > 0 (got nan)\n")


_TOML_VALUES = st.recursive(
    st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["work", "rest", "relax", "holds", "a1-strength", "uV"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["kind", "nl", "en", "hold_s", "phase", "x"]), inner, max_size=3),
    max_leaves=6)


def _places(raw: dict) -> list[tuple]:
    """Where a value can go in a document: its own keys, a section's, a phase's, new ones."""
    keys = [(k,) for k in raw] + [("colour",)]
    for j, sec in enumerate(raw["section"]):
        keys += [("section", j, k) for k in sec]
        for i, ph in enumerate(sec["phase"]):
            keys += [("section", j, "phase", i, k) for k in ph]
    return keys


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pid=st.sampled_from(["a1-strength", "a2-endurance", "b5-lift"]))
def test_any_value_anywhere_is_a_protocol_or_an_input_error(data, pid):
    raw = tomllib.loads((protocols.HERE / f"{pid}.toml").read_text())
    places = data.draw(st.lists(st.sampled_from(_places(raw)), min_size=1, max_size=3,
                                unique=True))
    for *parents, key in sorted(places, key=len, reverse=True):  # inner ones first
        table = raw
        for part in parents:
            table = table[part]
        table[key] = data.draw(_TOML_VALUES)
    try:
        p = protocols.parse(raw, Path("random.toml"))
    except InputError as exc:
        assert str(exc).startswith("protocol random.toml: ") and "\n" not in str(exc)
        return
    assert 0 < p.duration_s <= protocols.MAX_SESSION_S


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_a_protocol_or_an_input_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("bytes") / "random.toml"
    path.write_bytes(content)
    try:
        protocols.load(str(path))
    except InputError as exc:
        assert "\n" not in str(exc)
