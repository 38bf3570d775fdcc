"""Protocols as data: every spec id, Dutch and English cues, therapist edits, named errors."""

import dataclasses
import subprocess

import pytest

from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols

SPEC_IDS = ["a1-strength", "a2-endurance", "a3-quick", "a-daily", "b1-awareness",
            "b2-contract-relax", "b3-long-hold", "b4-wink", "b5-lift", "glazer", "perfect"]


def test_every_protocol_of_the_spec_is_shipped_and_valid():
    assert sorted(SPEC_IDS) == protocols.builtin_ids()
    for pid in SPEC_IDS:
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
    assert work[0].phase.cue_nl == "Knijp zo hard als je kunt"
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
    assert after.kind == "rest" and after.cue_nl == "Helemaal loslaten"


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
    "hold_s = 5.0": ("hold_s = -2.0", "section[0].phase[0].hold_s: must be positive"),
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


@pytest.mark.parametrize("old", sorted(BAD))
def test_wrong_file_names_file_and_field(tmp_path, old):
    new, message = BAD[old]
    text = (protocols.HERE / "a1-strength.toml").read_text()
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        protocols.load(str(path))
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_not_toml_and_missing(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("id = [unclosed")
    with pytest.raises(InputError, match="not valid TOML"):
        protocols.load(str(path))
    with pytest.raises(InputError, match="no protocol with this id or path"):
        protocols.load("a9-nonsense")


def test_cli_lists_and_shows():
    out = subprocess.run(["bbfeedback", "protocols"], capture_output=True, text=True)
    assert out.returncode == 0
    assert all(pid in out.stdout for pid in SPEC_IDS)
    show = subprocess.run(["bbfeedback", "protocols", "show", "b5-lift", "--lang", "nl"],
                          capture_output=True, text=True)
    assert show.returncode == 0 and "Verdieping 3: nog harder" in show.stdout
    assert "75% MVC" in show.stdout
    bad = subprocess.run(["bbfeedback", "protocols", "show", "zz"], capture_output=True,
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
