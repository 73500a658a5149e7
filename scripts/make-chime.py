#!/usr/bin/env python3
"""Writes the office TV board's call chime: crates/pishkhan-web/assets/chime.wav.

A soft two-tone "ding-dong" (E5 then C5, a major third down), like a station's announcement
chime: each tone is a bell-like sum of a few partials with a short attack and an exponential
decay, so it is heard across a waiting room without startling anyone. Standard library only,
and deterministic: running it again gives the same bytes.

    python3 scripts/make-chime.py
"""

import math
import pathlib
import struct
import wave

RATE_HZ = 22050
LENGTH_S = 2.0
# (start in seconds, fundamental in Hz)
TONES = [(0.0, 659.25), (0.55, 523.25)]
# (multiple of the fundamental, relative amplitude, decay time constant in seconds)
PARTIALS = [(1.0, 1.0, 0.55), (2.0, 0.28, 0.30), (3.0, 0.08, 0.18), (4.2, 0.04, 0.10)]
ATTACK_S = 0.012
PEAK = 0.55  # of full scale: loud enough, with headroom for the overlap of the two tones

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/pishkhan-web/assets/chime.wav"


def sample(t: float) -> float:
    total = 0.0
    for start, f0 in TONES:
        dt = t - start
        if dt < 0:
            continue
        attack = min(1.0, dt / ATTACK_S)
        for mult, amp, tau in PARTIALS:
            total += amp * attack * math.exp(-dt / tau) * math.sin(2 * math.pi * f0 * mult * dt)
    # The last 50 ms fade to silence, so the file ends without a click.
    tail = LENGTH_S - t
    if tail < 0.05:
        total *= max(0.0, tail / 0.05)
    return total


def main() -> None:
    n = int(RATE_HZ * LENGTH_S)
    raw = [sample(i / RATE_HZ) for i in range(n)]
    scale = PEAK / max(abs(v) for v in raw)
    frames = b"".join(struct.pack("<h", round(v * scale * 32767)) for v in raw)
    with wave.open(str(OUT), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(frames)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
