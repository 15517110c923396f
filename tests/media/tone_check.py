#!/usr/bin/env python3
"""tone_check.py WAV EXPECTED_HZ [options] - does a recording hold a tone?

Reads a 16-bit PCM wav (what baresip's sndfile module writes: the decoded
audio, 8000 Hz mono for PCMU), finds the dominant frequency blind (coarse
Goertzel scan of 60..min(4000, fs/2) Hz, then a fine scan around the peak)
and checks it against EXPECTED_HZ. Prints one line:

    tone_check: FILE: dominant 1000.2 Hz (expected 1000 Hz, +0.02%),
      tone 4.86 s of 5.10 s audio (non-silent 4.90 s), purity 0.99: OK

Exit status 0 only when
  * the dominant frequency is within --tol percent (default 2) of EXPECTED_HZ,
  * the recording has at least --min-sec seconds (default 1.0) of
    non-silent audio (20 ms frames with an RMS above --silence-dbfs), and
  * at least --min-tone-sec seconds (default: --min-sec) of 20 ms frames
    whose energy is mostly (--purity, default 0.5) at EXPECTED_HZ
    (so that noise with a lucky peak, or a tone for 0.1 s, does not pass).
Exit status 1 on a failed check, 2 on a bad file or usage.

Options:
  --tol PCT            allowed deviation of the dominant frequency, percent
  --min-sec S          minimum non-silent audio, seconds
  --min-tone-sec S     minimum audio that is the tone, seconds
  --skip-sec S         ignore the first S seconds (start-up transients)
  --silence-dbfs DB    frames below this RMS level are silence (default -45)
  --purity R           share of a frame's energy at the tone (default 0.5)

Python standard library only.
"""
import math
import struct
import sys
import wave


def usage(msg=None):
    if msg:
        print("tone_check: %s" % msg, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def read_wav(path):
    """Mono float samples in [-1, 1) and the sample rate."""
    try:
        with wave.open(path, "rb") as w:
            nch, width, rate, nframes = (w.getnchannels(), w.getsampwidth(),
                                         w.getframerate(), w.getnframes())
            raw = w.readframes(nframes)
    except (OSError, EOFError, wave.Error) as e:
        print("tone_check: %s: cannot read: %s" % (path, e), file=sys.stderr)
        sys.exit(2)
    if width != 2:
        print("tone_check: %s: %d-byte samples, need 16-bit PCM" % (path, width),
              file=sys.stderr)
        sys.exit(2)
    n = len(raw) // 2
    ints = struct.unpack("<%dh" % n, raw[:n * 2])
    if nch > 1:  # first channel is enough for a tone
        ints = ints[::nch]
    return [v / 32768.0 for v in ints], rate


def goertzel_power(x, freq, rate):
    """|X(freq)|^2 normalised so that a full-scale sine of amplitude A over
    the block gives about (A^2/2) * len(x) / 2 ... we only use ratios, so
    return the raw power and compare it with the block energy."""
    w = 2.0 * math.pi * freq / rate
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + coeff * s1 - s2
        s2 = s1
        s1 = s0
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def tone_share(x, freq, rate):
    """Share (0..1) of the block's energy that sits at freq. For a pure sine
    that fills the block it is ~1 (less a little leakage when the block does
    not hold whole periods); for white noise it is ~2/len(x)."""
    energy = sum(v * v for v in x)
    if energy <= 0.0:
        return 0.0
    # For a sine of amplitude A: energy = N*A^2/2, Goertzel power = (N*A/2)^2
    # => share = 2 * power / (N * energy).
    return min(1.0, 2.0 * goertzel_power(x, freq, rate) / (len(x) * energy))


def main(argv):
    if len(argv) < 2:
        usage()
    path = argv[0]
    try:
        expected = float(argv[1])
    except ValueError:
        usage("EXPECTED_HZ must be a number")
    opts = {"--tol": 2.0, "--min-sec": 1.0, "--min-tone-sec": None,
            "--skip-sec": 0.0, "--silence-dbfs": -45.0, "--purity": 0.5}
    rest = argv[2:]
    while rest:
        k = rest.pop(0)
        if k not in opts or not rest:
            usage("bad option %s" % k)
        try:
            opts[k] = float(rest.pop(0))
        except ValueError:
            usage("%s needs a number" % k)
    if opts["--min-tone-sec"] is None:
        opts["--min-tone-sec"] = opts["--min-sec"]

    x, rate = read_wav(path)
    x = x[int(opts["--skip-sec"] * rate):]
    total_sec = len(x) / float(rate)
    frame = max(1, rate // 50)  # 20 ms
    thresh = 10.0 ** (opts["--silence-dbfs"] / 20.0)
    loud = []      # indices of non-silent frames
    tone_frames = 0
    for i in range(0, len(x) - frame + 1, frame):
        blk = x[i:i + frame]
        rms = math.sqrt(sum(v * v for v in blk) / frame)
        if rms < thresh:
            continue
        loud.append(i)
        if tone_share(blk, expected, rate) >= opts["--purity"]:
            tone_frames += 1
    loud_sec = len(loud) * frame / float(rate)
    tone_sec = tone_frames * frame / float(rate)

    problems = []
    dominant = 0.0
    purity = 0.0
    if not loud:
        problems.append("no non-silent audio at all")
    else:
        # The longest run of consecutive non-silent frames, at most 1 s,
        # is the block the frequency is measured on (phase-continuous).
        best_start, best_len, run_start, run_len, prev = loud[0], 1, loud[0], 1, loud[0]
        for i in loud[1:]:
            if i == prev + frame:
                run_len += 1
            else:
                run_start, run_len = i, 1
            if run_len > best_len:
                best_start, best_len = run_start, run_len
            prev = i
        seg = x[best_start:best_start + min(best_len * frame, rate)]
        nyq = rate / 2.0
        hi = min(4000.0, nyq - 50.0)
        # Coarse: 1/4 s block, 5 Hz steps (resolution ~4 Hz).
        coarse = seg[:max(frame, rate // 4)]
        f, best_f, best_p = 60.0, 60.0, -1.0
        while f <= hi:
            p = goertzel_power(coarse, f, rate)
            if p > best_p:
                best_f, best_p = f, p
            f += 5.0
        # Fine: +-10 Hz around it in 0.25 Hz steps on the whole block.
        f, fine_f, fine_p = best_f - 10.0, best_f, -1.0
        while f <= best_f + 10.0:
            p = goertzel_power(seg, f, rate)
            if p > fine_p:
                fine_f, fine_p = f, p
            f += 0.25
        dominant = fine_f
        purity = tone_share(seg, dominant, rate)
        dev = 100.0 * (dominant - expected) / expected
        if abs(dev) > opts["--tol"]:
            problems.append("dominant frequency %.1f Hz is %+.2f%% off %.0f Hz"
                            % (dominant, dev, expected))
    if loud_sec < opts["--min-sec"]:
        problems.append("only %.2f s of non-silent audio (need %.2f s)"
                        % (loud_sec, opts["--min-sec"]))
    if tone_sec < opts["--min-tone-sec"]:
        problems.append("only %.2f s of audio is the %.0f Hz tone (need %.2f s)"
                        % (tone_sec, expected, opts["--min-tone-sec"]))

    dev = 100.0 * (dominant - expected) / expected if dominant else float("nan")
    print("tone_check: %s: dominant %.1f Hz (expected %.0f Hz, %+.2f%%), "
          "tone %.2f s of %.2f s audio (non-silent %.2f s), purity %.2f: %s"
          % (path, dominant, expected, dev, tone_sec, total_sec, loud_sec,
             purity, "OK" if not problems else "FAIL: " + "; ".join(problems)))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
