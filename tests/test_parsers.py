"""Device parsers: known byte vectors, property tests (never raise, split-invariant), loss
counting and recovery from line noise."""

import numpy as np
import pytest
from bbfeedback.drivers import ascii_lines, bitalino, openbci_cyton, openeeg_p2
from bbfeedback.drivers.devices import make_device
from bbfeedback.drivers.emulator import make_packets
from hypothesis import given, settings
from hypothesis import strategies as st

DEVICES = ["p2", "cyton", "bitalino", "ascii"]


def _signal(spec, n=600, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / spec.fs_hz
    cols = []
    for c in spec.channels:
        if c.kind == "emg":
            cols.append(30 * rng.standard_normal(n) * (1 + np.sin(2 * np.pi * 0.5 * t)))
        else:
            cols.append(20 + 10 * np.sin(2 * np.pi * 0.3 * t))
    return np.column_stack(cols)


def _feed(parser, chunks):
    outs = [parser.feed(c) for c in chunks]
    return np.concatenate([o.raw for o in outs]), np.concatenate([o.seq for o in outs])


def test_p2_real_capture_and_scale():
    cap = bytearray.fromhex("a55a023901cf021401ff01fc022302040 1".replace(" ", ""))
    stream = b"\x00\x13"
    for k in range(3):
        cap[3] = (0x39 + k) % 256
        stream += bytes(cap)
    p = openeeg_p2.P2Parser(6)
    out = p.feed(stream)
    assert out.raw[0].tolist() == [0x1CF, 0x214, 0x1FF, 0x1FC, 0x223, 0x204]
    assert out.seq.tolist() == [0x39, 0x3A, 0x3B] and p.stats.discarded == 2
    cal = openeeg_p2.P2Calibration(gain=1000, vref_v=5.0)
    assert openeeg_p2.P2Parser(1, cal).to_physical(np.array([612]))[0] == pytest.approx(
        100 * 5.0 / 1024 / 1000 * 1e6)


def test_bitalino_derived_vectors_and_transfer_function():
    assert bitalino.encode(np.array([[512]]))[0] == bytes.fromhex("00080e")
    six = bitalino.encode(np.array([[512, 513, 514, 515, 516 >> 4, 517 >> 4]]), 3, 0b1000)
    assert six[0] == bytes.fromhex("2038a08001028 83b".replace(" ", ""))
    assert bitalino.emg_uV(np.array([512.0]), np.array([10.0]))[0] == pytest.approx(0.0)
    assert bitalino.emg_uV(np.array([1023.0]), np.array([10.0]))[0] == pytest.approx(
        (1023 / 1024 - 0.5) * 3.3 / 1009 * 1e6)


# tests/data/openbci_cyton/SOURCE.txt: a packet captured from a board (published in OpenBCI's
# NodeJS SDK tests); its values below were worked out by hand from the documented format
CYTON_CAPTURE_COUNTS = [-7343552, -7348236, -7328842, -7356481, 8388607, 8388607, -7068364,
                        2143869]
CYTON_CAPTURE_UV = [-164141.198, -164245.893, -163812.404, -164430.183, 187500.0, 187500.0,
                    -157990.266, 47919.212]


def test_cyton_decodes_a_published_capture(real_data):
    packet = (real_data / "openbci_cyton" / "first_packet.bin").read_bytes()
    assert len(packet) == openbci_cyton.FRAME_LEN and packet[0] == 0xA0 and packet[-1] == 0xC0
    # the parser locks on two packets in a row: the capture, then the same bytes numbered 1
    follower = packet[:1] + b"\x01" + packet[2:]
    p = openbci_cyton.CytonParser(8)
    out = p.feed(b"\x13\x37" + packet + follower)
    assert out.n == 2 and out.seq.tolist() == [0, 1] and p.stats.discarded == 2
    assert out.raw[0].tolist() == CYTON_CAPTURE_COUNTS
    assert out.values[0] == pytest.approx(CYTON_CAPTURE_UV, abs=5e-4)
    assert out.lost_before.tolist() == [0, 0]
    # the default two-channel parser reads the first two channels of the same packet
    two = openbci_cyton.CytonParser(2).feed(packet + follower)
    assert two.values[0] == pytest.approx(CYTON_CAPTURE_UV[:2], abs=5e-4)
    # the int24 examples published with their integers in the same OpenBCI test file, put in
    # the capture's channel slots (a derived frame)
    published = {"000690": 1680, "02c001": 180225, "ffffff": -1, "81a101": -8281855}
    body = b"".join(bytes.fromhex(h) for h in published) * 2
    frame = np.frombuffer(packet[:2] + body + packet[26:], np.uint8)[None, :]
    assert p.counts(frame)[0].tolist() == list(published.values()) * 2


def test_cyton_int24_and_scale():
    counts = np.array([[-1, 2**23 - 1], [-(2**23) + 1, 12345]])
    p = openbci_cyton.CytonParser(2)
    out = p.feed(b"".join(openbci_cyton.encode(counts, 254)))
    assert out.raw.tolist() == counts.tolist() and out.seq.tolist() == [254, 255]
    assert openbci_cyton.uv_per_count(24) == pytest.approx(0.0223517, rel=1e-5)


@pytest.mark.parametrize("name", DEVICES)
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=8))
def test_any_bytes_any_split_never_raises_and_counts_balance(name, data, cuts):
    parser = make_device(name).make_parser()
    bounds = sorted({0, len(data), *[c for c in cuts if c <= len(data)]})
    for a, b in zip(bounds, bounds[1:], strict=False):
        parser.feed(data[a:b])
    s = parser.stats
    assert s.bytes_in == len(data) == s.consumed + s.discarded + parser.buffered


@pytest.mark.parametrize("name", DEVICES)
@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(0, 20000), max_size=30), seed=st.integers(0, 99))
def test_valid_stream_split_anywhere_decodes_identically(name, cuts, seed):
    spec = make_device(name)
    stream = make_packets(spec, _signal(spec, 300, seed)).stream()
    whole = _feed(spec.make_parser(), [stream])
    bounds = sorted({0, len(stream), *[c % (len(stream) + 1) for c in cuts]})
    chunks = [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    split = _feed(spec.make_parser(), chunks)
    assert np.array_equal(whole[0], split[0]) and np.array_equal(whole[1], split[1])


def _subsequence_positions(rows: np.ndarray, truth: np.ndarray) -> list[int]:
    """Where each decoded row sits in the emitted rows (in order, exactly equal)."""
    pos, out = 0, []
    for row in rows:
        while pos < len(truth) and not np.array_equal(truth[pos], row):
            pos += 1
        assert pos < len(truth), "decoded a row that was never sent"
        out.append(pos)
        pos += 1
    return out


@pytest.mark.parametrize("name", DEVICES)
def test_noise_and_drops_recover_and_are_counted(name):
    spec = make_device(name)
    values = _signal(spec, 3000, 1)
    packets = make_packets(spec, values, garbage=0.02, drop=0.02, seed=3)
    parser = spec.make_parser()
    out = parser.feed(packets.stream())
    where = _subsequence_positions(out.raw, packets.counts)
    first, last = where[0], where[-1]
    span = last - first + 1
    assert parser.stats.lost_frames == span - out.n  # every missing packet is counted
    dropped = int(packets.dropped[first:last + 1].sum())
    assert dropped > 20 and len(packets.junk) > 20
    missing_beyond_drops = span - out.n - dropped
    if name == "bitalino":  # the 4-bit CRC needs 3 frames in a row to lock again
        assert missing_beyond_drops <= 2 * (len(packets.junk) + dropped)
    elif name == "ascii":  # noise without a newline spoils the line it runs into, only that
        assert missing_beyond_drops <= len(packets.junk)
    else:  # recovery within one packet: only the dropped packets are missing
        assert missing_beyond_drops == 0
    assert first <= (1 if name == "ascii" else 0)  # ascii drops its first (maybe cut) line


def test_ascii_columns_and_device_file(tmp_path):
    cols = ascii_lines.parse_columns("emg:emg:uV:2:512,p:pressure:mmHg:0.1")
    assert cols[0] == ascii_lines.Column("emg", "emg", "uV", 2.0, 512.0)
    f = tmp_path / "board.toml"
    f.write_text('fs_hz = 100\ncounter = false\n[[column]]\nname = "p"\nkind = "pressure"\n'
                 'unit = "cmH2O"\nscale = 0.5\n')
    spec = ascii_lines.load_spec(f)
    parser = ascii_lines.AsciiParser(spec)
    out = parser.feed(b"junk\r\n10\r\n12\r\nnot a number\r\n14\r\n")
    assert out.values[:, 0].tolist() == [5.0, 6.0, 7.0] and parser.stats.discarded == 20


@pytest.mark.parametrize("name", ["ascii", "p2", "cyton"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_heavy_noise_never_invents_samples_or_losses(name, seed):
    """Garbage after 30 % of packets and 20 % dropped: every decoded sample was sent, in
    order, and the losses counted are exactly the samples missing between them (a noise
    burst glued to an ASCII line's counter used to count up to 65,535 lost)."""
    spec = make_device(name)
    values = _signal(spec, 4000, seed)
    packets = make_packets(spec, values, garbage=0.3, drop=0.2, seed=seed)
    parser = spec.make_parser()
    stream = packets.stream()
    decoded = [parser.feed(stream[i:i + 97]) for i in range(0, len(stream), 97)]
    rows = np.concatenate([d.raw for d in decoded if d.n])
    where = _subsequence_positions(rows, packets.counts)  # fails on an invented row
    assert parser.stats.lost_frames == where[-1] - where[0] + 1 - len(rows)
    assert len(rows) >= 0.5 * len(packets.counts)  # noise costs lines, not the stream
