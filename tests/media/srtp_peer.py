#!/usr/bin/env python3
"""srtp_peer.py - a small RFC 3711 SRTP implementation for the media tests.

Only what the tests need: the AES_CM_128_HMAC_SHA1_80 and _32 suites with
the default key derivation (key derivation rate 0), SRTP (not SRTCP), no
MKI, a 64-packet replay window and the RFC 3711 appendix A index estimate
(so the rollover counter is right even across a sequence number wrap).
It is the test's independent view of SRTP: what tlstrunk sends toward the
cloud must decrypt here, and what this code protects must be accepted by
tlstrunk (libsrtp2).

Dependencies: python3 and the `cryptography` module, using only APIs that
exist in Debian 12's python3-cryptography 38 (Cipher, algorithms.AES,
modes.CTR); HMAC-SHA1 from the standard library.

  python3 srtp_peer.py selftest   checks this code against the RFC 3711
                                  B.2 (AES-CM keystream) and B.3 (key
                                  derivation) vectors and a libsrtp2
                                  known-answer packet; exit 0 when all pass.

Also a library: SrtpContext, parse_crypto_attr, make_inline.
"""
import base64
import hashlib
import hmac
import struct
import sys

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:  # pragma: no cover - reported by the test script
    print("srtp_peer: the python3 'cryptography' module is missing "
          "(Debian: apt-get install python3-cryptography)", file=sys.stderr)
    raise

SUITES = {
    # name: (master key bytes, master salt bytes, auth tag bytes)
    "AES_CM_128_HMAC_SHA1_80": (16, 14, 10),
    "AES_CM_128_HMAC_SHA1_32": (16, 14, 4),
}

LABEL_RTP_ENC, LABEL_RTP_AUTH, LABEL_RTP_SALT = 0, 1, 2
REPLAY_WINDOW = 64


class SrtpError(Exception):
    """Why unprotect refused a packet: 'auth', 'replay' or 'malformed'."""

    def __init__(self, why):
        Exception.__init__(self, why)
        self.why = why


def aes_cm(key, iv, data):
    """AES in counter mode (RFC 3711 4.1.1): data XOR keystream(key, iv)."""
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def kdf(master_key, master_salt, label, n):
    """RFC 3711 4.3.1 with key_derivation_rate 0 (r = 0): x = key_id XOR
    master_salt with key_id = label || 0^48, IV = x * 2^16."""
    x = bytearray(master_salt)
    x[7] ^= label            # key_id is right-aligned in the 112-bit salt
    return aes_cm(master_key, bytes(x) + b"\x00\x00", b"\x00" * n)


def srtp_iv(session_salt, ssrc, index):
    """RFC 3711 4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)."""
    iv = bytearray(session_salt + b"\x00\x00")
    s = struct.pack("!I", ssrc)
    i = struct.pack("!Q", index)[2:]        # 48 bits
    for k in range(4):
        iv[4 + k] ^= s[k]
    for k in range(6):
        iv[8 + k] ^= i[k]
    return bytes(iv)


def rtp_header_len(pkt):
    """Length of the RTP header (fixed part, CSRCs, extension) or None."""
    if len(pkt) < 12 or pkt[0] >> 6 != 2:
        return None
    n = 12 + 4 * (pkt[0] & 0x0F)
    if pkt[0] & 0x10:
        if len(pkt) < n + 4:
            return None
        n += 4 + 4 * struct.unpack("!H", pkt[n + 2:n + 4])[0]
    return n if n <= len(pkt) else None


class SrtpContext:
    """One direction of one SRTP crypto context (one master key).

    protect() keeps a per-SSRC rollover counter for the sender;
    unprotect() keeps the receiver's s_l, ROC and replay window per SSRC.
    A context never learns a packet that failed authentication."""

    def __init__(self, master_key, master_salt, suite="AES_CM_128_HMAC_SHA1_80"):
        if suite not in SUITES:
            raise ValueError("unsupported suite %s" % suite)
        klen, slen, self.tag_len = SUITES[suite]
        if len(master_key) != klen or len(master_salt) != slen:
            raise ValueError("bad master key/salt length")
        self.suite = suite
        self.master_key, self.master_salt = master_key, master_salt
        self.k_e = kdf(master_key, master_salt, LABEL_RTP_ENC, 16)
        self.k_a = kdf(master_key, master_salt, LABEL_RTP_AUTH, 20)
        self.k_s = kdf(master_key, master_salt, LABEL_RTP_SALT, 14)
        self.tx = {}    # ssrc -> (roc, last seq)
        self.rx = {}    # ssrc -> [roc, s_l, replay bitmap (bit 0 = s_l)]
        self.last_index = None  # unprotect: the index (ROC << 16 | SEQ) of
                                # the last packet accepted (appendix A)

    @classmethod
    def from_inline(cls, key_salt, suite="AES_CM_128_HMAC_SHA1_80"):
        klen, slen, _ = SUITES[suite]
        if len(key_salt) != klen + slen:
            raise ValueError("inline key is %d bytes, not %d" % (len(key_salt), klen + slen))
        return cls(key_salt[:klen], key_salt[klen:], suite)

    def _tag(self, authenticated, roc):
        mac = hmac.new(self.k_a, authenticated + struct.pack("!I", roc), hashlib.sha1)
        return mac.digest()[:self.tag_len]

    def protect(self, pkt, roc=None):
        """RTP packet (bytes) -> SRTP packet. roc overrides the tracked ROC."""
        h = rtp_header_len(pkt)
        if h is None:
            raise ValueError("not an RTP packet")
        seq, ssrc = struct.unpack("!H", pkt[2:4])[0], struct.unpack("!I", pkt[8:12])[0]
        if roc is None:
            r, last = self.tx.get(ssrc, (0, None))
            if last is not None and seq < last and last - seq > 0x8000:
                r += 1                           # the sequence number wrapped
            roc = r
            self.tx[ssrc] = (r, seq)
        index = (roc << 16) | seq
        body = aes_cm(self.k_e, srtp_iv(self.k_s, ssrc, index), pkt[h:])
        out = pkt[:h] + body
        return out + self._tag(out, roc)

    def _estimate(self, ssrc, seq):
        st = self.rx.get(ssrc)
        if st is None:
            return 0, None
        roc, s_l, _ = st
        # RFC 3711 appendix A
        if s_l < 0x8000:
            v = roc - 1 if seq - s_l > 0x8000 else roc
        else:
            v = roc + 1 if s_l - 0x8000 > seq else roc
        return v, st

    def unprotect(self, pkt):
        """SRTP packet -> RTP packet, or raise SrtpError."""
        h = rtp_header_len(pkt)
        if h is None or len(pkt) < h + self.tag_len:
            raise SrtpError("malformed")
        seq, ssrc = struct.unpack("!H", pkt[2:4])[0], struct.unpack("!I", pkt[8:12])[0]
        v, st = self._estimate(ssrc, seq)
        if v < 0:
            raise SrtpError("replay")
        index = (v << 16) | seq
        if st is not None:
            top = (st[0] << 16) | st[1]
            delta = index - top
            if delta <= 0:
                if -delta >= REPLAY_WINDOW or (st[2] >> -delta) & 1:
                    raise SrtpError("replay")
        authed, tag = pkt[:-self.tag_len], pkt[-self.tag_len:]
        if not hmac.compare_digest(self._tag(authed, v), tag):
            raise SrtpError("auth")
        plain = authed[:h] + aes_cm(self.k_e, srtp_iv(self.k_s, ssrc, index), authed[h:])
        if st is None:
            self.rx[ssrc] = [v, seq, 1]
        else:
            top = (st[0] << 16) | st[1]
            delta = index - top
            if delta > 0:
                st[2] = ((st[2] << delta) | 1) & ((1 << REPLAY_WINDOW) - 1)
                st[0], st[1] = v, seq
            else:
                st[2] |= 1 << -delta
        self.last_index = index
        return plain

    def authenticates(self, pkt, roc=0):
        """True when pkt carries a valid tag under this key (no state)."""
        if rtp_header_len(pkt) is None or len(pkt) < 12 + self.tag_len:
            return False
        return hmac.compare_digest(self._tag(pkt[:-self.tag_len], roc),
                                   pkt[-self.tag_len:])


def parse_crypto_attr(value):
    """'1 AES_CM_128_HMAC_SHA1_80 inline:KEY[|lifetime][|mki:len] [params]'
    (the part after 'a=crypto:') -> dict(tag, suite, key (30 bytes),
    inline (the base64 text), lifetime, mki) or None when malformed."""
    parts = value.split()
    if len(parts) < 3 or not parts[0].isdigit():
        return None
    tag, suite, params = int(parts[0]), parts[1], parts[2]
    if not params.startswith("inline:"):
        return None
    fields = params[len("inline:"):].split("|")
    try:
        key = base64.b64decode(fields[0], validate=True)
    except (ValueError, base64.binascii.Error):
        return None
    lifetime = mki = None
    for f in fields[1:]:
        if ":" in f:
            mki = f
        else:
            lifetime = f
    return {"tag": tag, "suite": suite, "key": key, "inline": fields[0],
            "lifetime": lifetime, "mki": mki, "extra": parts[3:]}


def make_inline(key_salt):
    return base64.b64encode(key_salt).decode("ascii")


# --- self test ------------------------------------------------------------------

def _h(s):
    return bytes.fromhex("".join(s.split()))


def selftest(verbose=True):
    problems = []

    def check(what, got, want):
        if got != want:
            problems.append("%s: got %s, want %s" % (what, got.hex(), want.hex()))
        elif verbose:
            print("  ok  %s" % what)

    # RFC 3711 B.2: AES-CM keystream, session key/salt given, SSRC 0, index 0.
    k = _h("2B7E151628AED2A6ABF7158809CF4F3C")
    salt = _h("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
    iv = srtp_iv(salt, 0, 0)
    check("B.2 IV", iv, _h("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"))
    ks = aes_cm(k, iv, b"\x00" * (65282 * 16))
    check("B.2 keystream blocks 0000-0002", ks[:48],
          _h("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB"
             "41E95B3BB0A2E8DD477901E4FCA894C0"))
    check("B.2 keystream blocks FEFF-FF01", ks[0xFEFF * 16:0xFF02 * 16],
          _h("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE"
             "6A2CC3787889374FBEB4C81B17BA6C44"))

    # RFC 3711 B.3: key derivation.
    mk = _h("E1F97A0D3E018BE0D64FA32C06DE4139")
    ms = _h("0EC675AD498AFEEBB6960B3AABE6")
    ctx = SrtpContext(mk, ms)
    check("B.3 cipher key", ctx.k_e, _h("C61E7A93744F39EE10734AFE3FF7A087"))
    check("B.3 cipher salt", ctx.k_s, _h("30CBBC08863D8C85D49DB34A9AE1"))
    check("B.3 auth key", ctx.k_a, _h("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))

    # libsrtp2's srtp_validate() known answer (AES_CM_128_HMAC_SHA1_80, the
    # B.3 master key and salt): IV, encryption and tag in one packet.
    plain = _h("800f1234decafbadcafebabe" + "ab" * 16)
    want = _h("800f1234decafbadcafebabe"
              "4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
    check("libsrtp2 protect known answer", SrtpContext(mk, ms).protect(plain), want)
    rx = SrtpContext(mk, ms)
    try:
        check("libsrtp2 unprotect known answer", rx.unprotect(want), plain)
    except SrtpError as e:
        problems.append("libsrtp2 unprotect known answer: %s" % e.why)

    # The receiver's refusals.
    def refused(what, c, pkt, why):
        try:
            c.unprotect(pkt)
            problems.append("%s: accepted" % what)
        except SrtpError as e:
            if e.why != why:
                problems.append("%s: refused as %s, not %s" % (what, e.why, why))
            elif verbose:
                print("  ok  %s refused (%s)" % (what, why))

    refused("replayed packet", rx, want, "replay")
    bad = bytearray(want)
    bad[20] ^= 1
    refused("tampered packet", SrtpContext(mk, ms), bytes(bad), "auth")
    other = SrtpContext(mk[::-1], ms)
    refused("packet under another key", other, want, "auth")

    # Round trip across a sequence number wrap (ROC 0 -> 1), both suites.
    for suite in SUITES:
        tx, rx = SrtpContext(mk, ms, suite), SrtpContext(mk, ms, suite)
        ok = True
        for n in range(65530, 65542):
            p = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, n * 160, 0x1234) + bytes([n & 0xFF]) * 160
            s = tx.protect(p)
            if len(s) != len(p) + SUITES[suite][2] or rx.unprotect(s) != p:
                ok = False
        if not ok or rx.rx[0x1234][0] != 1:
            problems.append("%s round trip across the wrap failed" % suite)
        elif verbose:
            print("  ok  %s round trip across a sequence wrap" % suite)

    c = parse_crypto_attr("1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31" % make_inline(mk + ms))
    if not c or c["key"] != mk + ms or c["tag"] != 1 or c["lifetime"] != "2^31":
        problems.append("a=crypto parsing failed: %r" % (c,))
    for p in problems:
        print("  FAIL: %s" % p)
    return not problems


if __name__ == "__main__":
    if sys.argv[1:] == ["selftest"]:
        print("srtp_peer selftest (RFC 3711 B.2/B.3, libsrtp2 known answer):")
        ok = selftest()
        print("srtp_peer selftest: %s" % ("PASS" if ok else "FAIL"))
        sys.exit(0 if ok else 1)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
