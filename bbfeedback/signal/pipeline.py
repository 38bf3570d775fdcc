"""The streaming signal chain: filters and envelope per channel kind.

EMG: mains notch (only where hum is) -> band-pass 20-450 Hz -> moving RMS.
Pressure: low-pass -> zeroing against the resting offset.
One ``Pipeline`` serves live devices, replay and offline analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bbfeedback.signal.blocks import EMG, PRESSURE, Block, Channel
from bbfeedback.signal.envelope import MovingRms
from bbfeedback.signal.filters import (
    SosFilter,
    ZeroStage,
    bandpass_sos,
    detect_mains,
    hum_harmonics,
    lowpass_sos,
    notch_sos,
)


@dataclass
class PipelineConfig:
    """Processing settings; times in seconds, frequencies in Hz."""

    notch_hz: list[float] = field(default_factory=list)
    band_low_hz: float = 20.0
    band_high_hz: float = 450.0
    window_s: float = 0.15
    pressure_lowpass_hz: float = 5.0
    pressure_zero_s: float = 2.0
    pressure_offset_cmH2O: list[float] | None = None


def resolve_notch(mains: str, sample: np.ndarray | None, fs_hz: float,
                  max_hz: float = 450.0) -> list[float]:
    """Notch frequencies for a ``--mains`` choice: 'auto', '50', '60' or 'off'.

    With signal at hand only the harmonics that really hum are notched; without it (live
    start) all harmonics of the chosen frequency below Nyquist and the band edge.
    """
    if mains == "off":
        return []
    if mains == "auto":
        return [] if sample is None else detect_mains(sample, fs_hz)[1]
    base = float(mains)
    if sample is not None:
        return hum_harmonics(sample, fs_hz, base, max_hz=max_hz)
    top = min(0.48 * fs_hz, max_hz + base)
    return [k * base for k in range(1, int(top // base) + 1) if k * base < top]


class EmgChain:
    """Notch -> band-pass -> moving RMS for the EMG columns of a block."""

    def __init__(self, n_channels: int, fs_hz: float, config: PipelineConfig):
        nsos = notch_sos(fs_hz, config.notch_hz)
        band = SosFilter(bandpass_sos(fs_hz, config.band_low_hz, config.band_high_hz),
                         n_channels, fs_hz)
        # notch and band-pass in one cascade: the same numbers, one pass over the samples
        self.filter = band if nsos is None else SosFilter(
            np.vstack([nsos, band.sos]), n_channels, fs_hz, (len(nsos), len(band.sos)))
        self.rms = MovingRms(n_channels, fs_hz, config.window_s)
        # the envelope's content sits near the EMG's mean frequency (~100 Hz)
        self.filter_delay_s = band.group_delay_s(min(100.0, 0.3 * fs_hz))
        self.window_n = self.rms.window_n
        # a notch rings for ~5 time constants Q/(pi f0) after the start: no detection then
        ring_s = max((5 * 30.0 / (np.pi * f) for f in config.notch_hz), default=0.1)
        self.settle_s = ring_s + config.window_s

    def stages(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(envelope, band-passed signal) of the same samples."""
        band = self.filter.process(x)
        return self.rms.process(band), band

    def process(self, x: np.ndarray) -> np.ndarray:
        return self.stages(x)[0]

    def reset(self) -> None:
        self.filter.reset()
        self.rms.reset()

    def restart(self) -> None:
        """After a gap: filters start again at the next sample (steady state, no step)."""
        self.filter.reset()


class PressureChain:
    """Low-pass -> zero against the resting pressure."""

    window_n = 0

    def __init__(self, n_channels: int, fs_hz: float, config: PipelineConfig):
        self.lowpass = SosFilter(lowpass_sos(fs_hz, config.pressure_lowpass_hz), n_channels, fs_hz)
        offset = config.pressure_offset_cmH2O
        self.zero = ZeroStage(n_channels, fs_hz, offset, config.pressure_zero_s)
        self.filter_delay_s = self.lowpass.group_delay_s(0.5)
        self.settle_s = 5 / (2 * np.pi * config.pressure_lowpass_hz)

    def stages(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(zeroed pressure, the same): pressure has no band-passed stage of its own."""
        out = self.zero.process(self.lowpass.process(x))
        return out, out

    def process(self, x: np.ndarray) -> np.ndarray:
        return self.stages(x)[0]

    def reset(self) -> None:
        self.lowpass.reset()
        self.zero.reset()

    def restart(self) -> None:
        """After a gap: the low-pass starts again; the resting offset is kept."""
        self.lowpass.reset()


_CHAINS = {EMG: EmgChain, PRESSURE: PressureChain}


@dataclass(frozen=True)
class Stages:
    """What the pipeline makes of one block: the envelope (µV RMS, zeroed cmH2O) and the
    band-passed EMG of the same samples (a pressure column: its processed value), on which
    onsets are refined to the sample and the median frequency is measured."""

    envelope: Block
    band: np.ndarray


class Pipeline:
    """Turns raw blocks into envelope blocks (µV RMS for EMG, zeroed cmH2O for pressure).

    Output columns follow the input's EMG and pressure channels, in order.
    """

    def __init__(self, channels: tuple[Channel, ...], fs_hz: float,
                 config: PipelineConfig | None = None):
        self.config = config or PipelineConfig()
        self.fs_hz = fs_hz
        self.in_channels = channels
        self.columns = [i for i, c in enumerate(channels) if c.kind in _CHAINS]
        self.channels = tuple(channels[i] for i in self.columns)
        self._all_columns = self.columns == list(range(len(channels)))
        self._groups = []
        for kind, chain_cls in _CHAINS.items():
            cols = [k for k, c in enumerate(self.channels) if c.kind == kind]
            if cols:
                self._groups.append((cols, chain_cls(len(cols), fs_hz, self.config)))

    def chain_of(self, column: int):
        """The chain that processes output column ``column`` (to learn its delays)."""
        for cols, chain in self._groups:
            if column in cols:
                return chain
        raise IndexError(column)

    def delay_s(self, column: int) -> float:
        """How long output column ``column``'s envelope lags the muscle: half its RMS window
        plus its filters' delay (the trace and the artefact marks are put back by it)."""
        chain = self.chain_of(column)
        return chain.window_n / 2 / self.fs_hz + chain.filter_delay_s

    def step(self, block: Block) -> Stages:
        """The envelope block and the band-passed signal of its samples; after a gap
        (``lost_before``) the filters restart from the block's first sample rather than run
        straight across the missing signal."""
        if block.lost_before:
            for _, chain in self._groups:
                chain.restart()
        raw = block.data if self._all_columns else block.data[:, self.columns]
        if len(self._groups) == 1:  # one kind of channel: no copies between stages
            out, band = self._groups[0][1].stages(raw)
            return Stages(block.with_data(out, self.channels), band)
        out = np.empty_like(raw, dtype=float)
        band = np.empty_like(out)
        for cols, chain in self._groups:
            out[:, cols], band[:, cols] = chain.stages(raw[:, cols])
        return Stages(block.with_data(out, self.channels), band)

    def process(self, block: Block) -> Block:
        """The envelope block alone (``step`` gives the band-passed signal too)."""
        return self.step(block).envelope

    def reset(self) -> None:
        for _, chain in self._groups:
            chain.reset()
