#!/usr/bin/env python3
"""rtp_check_mutate.py IN.pcap OUT.pcap MODE --cloud IP:PORTS --pbx IP:PORTS

Rewrites a good capture of a relayed call (e.g. the media.pcap a passing
90_media_srtp.sh keeps with KEEP_WORK=1) into the capture a broken media
bridge would produce, to show that rtp_check.py catches it:

  plain     every cloud-leg RTP payload toward the cloud is replaced by the
            payload of the matching PBX-leg packet from the PBX (the bridge
            forwards plain RTP)
  nullauth  the same payload followed by a 10-byte "tag" (SRTP with the NULL
            cipher: authenticated but not encrypted)
  drop      every packet toward the cloud endpoint is removed (one-way audio)
  none      copy unchanged (rtp_check.py must pass)

Standard library only; libpcap files with Ethernet framing (tcpdump -i lo).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtp_check  # noqa: E402  (parse_ep, in_ep, rtp_payload)


def main(argv):
    if len(argv) < 7:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, mode = argv[0], argv[1], argv[2]
    opts = dict(zip(argv[3::2], argv[4::2]))
    cloud = rtp_check.parse_ep(opts["--cloud"])
    pbx = rtp_check.parse_ep(opts["--pbx"])
    with open(src, "rb") as f:
        data = f.read()
    out = bytearray(data[:24])
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        print("only little-endian microsecond pcap", file=sys.stderr)
        return 2
    off = 24
    pbx_payloads = []   # plain payloads from the PBX, in order
    records = []
    while off + 16 <= len(data):
        hdr = data[off:off + 16]
        incl = struct.unpack("<I", hdr[8:12])[0]
        pkt = bytearray(data[off + 16:off + 16 + incl])
        off += 16 + incl
        records.append((hdr, pkt))
        ip = pkt[14:]
        if len(ip) < 28 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        s_ip = "%d.%d.%d.%d" % tuple(ip[12:16])
        sport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
        udp = ip[ihl + 8:]
        if rtp_check.in_ep(pbx, s_ip, sport) and rtp_check.classify(bytes(udp)) == "rtp":
            r = rtp_check.rtp_payload(bytes(udp))
            if r:
                pbx_payloads.append(r[1])
    n = 0
    changed = 0
    for hdr, pkt in records:
        ip = pkt[14:]
        keep = True
        if len(ip) >= 28 and ip[9] == 17:
            ihl = (ip[0] & 0x0F) * 4
            d_ip = "%d.%d.%d.%d" % tuple(ip[16:20])
            dport = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0]
            udp = bytes(ip[ihl + 8:])
            if rtp_check.in_ep(cloud, d_ip, dport) and rtp_check.classify(udp) == "rtp":
                if mode == "drop":
                    keep = False
                elif mode in ("plain", "nullauth") and pbx_payloads:
                    r = rtp_check.rtp_payload(udp)
                    hl = len(udp) - len(r[1])
                    body = pbx_payloads[n % len(pbx_payloads)]
                    n += 1
                    if mode == "nullauth":
                        body = body + os.urandom(10)
                    udp = udp[:hl] + body
                    ulen = 8 + len(udp)
                    newip = bytearray(ip[:ihl + 8]) + udp
                    struct.pack_into("!H", newip, 2, ihl + ulen)      # IP total length
                    struct.pack_into("!H", newip, ihl + 4, ulen)      # UDP length
                    struct.pack_into("!H", newip, ihl + 6, 0)         # no UDP checksum
                    pkt = pkt[:14] + newip
                    hdr = hdr[:8] + struct.pack("<II", len(pkt), len(pkt))
                    changed += 1
        if keep:
            out += hdr + pkt
        else:
            changed += 1
    with open(dst, "wb") as f:
        f.write(out)
    print("rtp_check_mutate: %s: %d packets changed or removed" % (mode, changed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
