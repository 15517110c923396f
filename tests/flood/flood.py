#!/usr/bin/env python3
"""tests/flood/flood.py - connection-level flood clients for tests/flood/run.sh.

  flood.py idle ...   many idle TCP (PBX port) then TLS (TLS port) connections
                      from many source addresses; counts which ones tlstrunk
                      accepted (kept open / completed the handshake) and which
                      it refused (closed at once); holds the accepted ones and
                      records when tlstrunk closes them (idle_timeout).
  flood.py slow ...   slowloris: clients that dribble a SIP message byte by
                      byte (plain TCP to the PBX port, and over TLS after a
                      full handshake), or a TLS ClientHello byte by byte; each
                      reconnects after tlstrunk cuts it; records how long
                      every connection lived.

Both write their results as shell assignments (NAME=value) to --out, for
run.sh to source, and a human summary on stdout. Only the standard library.
"""
import argparse
import asyncio
import errno
import ssl
import sys
import time

now = time.monotonic


def source_list(spec):
    """'127.0.1.1-40' -> 127.0.1.1 .. 127.0.1.40; comma-separated items."""
    out = []
    for item in spec.split(","):
        head, _, last = item.rpartition(".")
        if "-" in last:
            a, b = last.split("-")
            out += [f"{head}.{i}" for i in range(int(a), int(b) + 1)]
        else:
            out.append(item)
    return out


def client_ctx(args, verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(args.ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def write_out(path, values):
    with open(path, "w") as f:
        for k, v in values.items():
            if isinstance(v, float):
                v = f"{v:.2f}"
            f.write(f"{k}={v}\n")


def stats(xs):
    if not xs:
        return 0.0, 0.0, 0.0
    return min(xs), sum(xs) / len(xs), max(xs)


# ---------------------------------------------------------------- idle flood

class Conn:
    __slots__ = ("src", "t_up", "t_closed", "writer", "watch")

    def __init__(self, src):
        self.src = src
        self.t_up = None
        self.t_closed = None
        self.writer = None
        self.watch = None


class Stage:
    def __init__(self, kind):
        self.kind = kind
        self.conns = []          # connected (TCP) / handshake done (TLS)
        self.attempted = 0
        self.hs_refused = 0      # TLS: closed by the server during the handshake
        self.errors = {}         # anything else (client side), by name
        self.last_event = now()

    def error(self, e):
        name = type(e).__name__
        if isinstance(e, OSError) and e.errno:
            name += "/" + (errno.errorcode.get(e.errno, str(e.errno)))
        self.errors[name] = self.errors.get(name, 0) + 1


async def watch_close(stage, c, reader):
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    except asyncio.CancelledError:
        return
    c.t_closed = now()
    stage.last_event = c.t_closed


async def open_one(stage, args, src, sem, ctx):
    async with sem:
        stage.attempted += 1
        c = Conn(src)
        try:
            if stage.kind == "tls":
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    args.host, args.tls_port, ssl=ctx, server_hostname=args.sni,
                    local_addr=(src, 0), ssl_handshake_timeout=args.timeout),
                    args.timeout + 5)
            else:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    args.host, args.tcp_port, local_addr=(src, 0)), args.timeout)
        except ssl.SSLCertVerificationError as e:
            stage.error(e)
            return
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError,
                asyncio.IncompleteReadError, ssl.SSLError) as e:
            # Connected, then closed by the server before the handshake ended.
            if stage.kind == "tls":
                stage.hs_refused += 1
                stage.last_event = now()
            else:
                stage.error(e)
            return
        except (OSError, asyncio.TimeoutError) as e:
            stage.error(e)
            return
        c.t_up = now()
        c.writer = w
        c.watch = asyncio.ensure_future(watch_close(stage, c, r))
        stage.conns.append(c)
        stage.last_event = c.t_up


async def run_stage(stage, args, sources, per_source, ctx):
    sem = asyncio.Semaphore(args.concurrency)
    t0 = now()
    # Round-robin over the sources, so every source fills up at the same pace.
    tasks = [open_one(stage, args, src, sem, ctx)
             for _ in range(per_source) for src in sources]
    await asyncio.gather(*tasks)
    t_connected = now() - t0
    # Settle: tlstrunk may still be accepting (and refusing) its backlog.
    start = now()
    while now() - start < args.settle_max:
        await asyncio.sleep(0.25)
        if now() - start >= 2 and now() - stage.last_event >= 1.5:
            break
    accepted = [c for c in stage.conns if c.t_closed is None]
    refused_after = [c for c in stage.conns if c.t_closed is not None]
    per_src = {}
    for c in accepted:
        per_src[c.src] = per_src.get(c.src, 0) + 1
    res = {
        "attempted": stage.attempted,
        "accepted": len(accepted),
        "refused": len(refused_after) + stage.hs_refused,
        "errors": sum(stage.errors.values()),
        "max_per_source": max(per_src.values()) if per_src else 0,
        "sources_used": len(per_src),
        "connect_s": t_connected,
    }
    detail = ", ".join(f"{k} {v}" for k, v in sorted(stage.errors.items()))
    print(f"  {stage.kind}: {res['attempted']} attempted from {len(sources)} "
          f"sources in {t_connected:.1f} s: {res['accepted']} accepted, "
          f"{res['refused']} refused by tlstrunk, {res['errors']} client errors"
          f"{' (' + detail + ')' if detail else ''}; at most "
          f"{res['max_per_source']} accepted per source", flush=True)
    return accepted, res


async def probe_tcp(args, src):
    """A fresh TCP connection: still open after 1 s = accepted."""
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(
            args.host, args.tcp_port, local_addr=(src, 0)), 5)
    except (OSError, asyncio.TimeoutError):
        return 0
    try:
        data = await asyncio.wait_for(r.read(1), 1.0)
        ok = 0 if not data else 1
    except asyncio.TimeoutError:
        ok = 1
    except OSError:
        ok = 0
    w.close()
    return ok


async def idle_main(args):
    out = {}
    print("idle flood:", flush=True)
    tcp_stage, tls_stage = Stage("tcp"), Stage("tls")
    tcp_acc, r = await run_stage(tcp_stage, args, source_list(args.tcp_sources),
                                 args.per_source, None)
    out.update({f"TCP_{k.upper()}": v for k, v in r.items()})
    tls_acc, r = await run_stage(tls_stage, args, source_list(args.tls_sources),
                                 args.per_source, client_ctx(args))
    out.update({f"TLS_{k.upper()}": v for k, v in r.items()})
    held = tcp_acc + tls_acc
    out["HELD"] = len(held)
    if args.ready:
        write_out(args.out, out)
        with open(args.ready, "w") as f:
            f.write("ready\n")
    # A newcomer on the PBX port while the flood holds the connections
    # (max_connections is one pool for both listeners).
    if args.probe_source:
        out["PROBE_DURING"] = await probe_tcp(args, args.probe_source)
        print(f"  while held, a new TCP connection from {args.probe_source} "
              f"was {'accepted' if out['PROBE_DURING'] else 'refused'}", flush=True)
    # Hold them; tlstrunk should close them after idle_timeout.
    t_hold = now()
    while now() - t_hold < args.hold:
        if all(c.t_closed is not None for c in held):
            break
        await asyncio.sleep(0.25)
    reaped = [c.t_closed - c.t_up for c in held if c.t_closed is not None]
    mn, avg, mx = stats(reaped)
    out.update({"REAPED": len(reaped), "STILL_OPEN": len(held) - len(reaped),
                "REAP_MIN": mn, "REAP_AVG": avg, "REAP_MAX": mx,
                "HOLD_S": now() - t_hold})
    print(f"  held {len(held)} for up to {args.hold:.0f} s: tlstrunk closed "
          f"{len(reaped)} after {mn:.1f}..{mx:.1f} s idle (avg {avg:.1f}), "
          f"{len(held) - len(reaped)} still open", flush=True)
    for c in held:
        if c.watch:
            c.watch.cancel()
        if c.writer:
            c.writer.close()
    await asyncio.sleep(0.5)
    # With the flood gone the limit must not be full any more.
    out["PROBE_OK"] = await probe_tcp(args, source_list(args.tcp_sources)[0])
    print(f"  afterwards a new TCP connection was "
          f"{'accepted' if out['PROBE_OK'] else 'REFUSED'}", flush=True)
    write_out(args.out, out)


# ---------------------------------------------------------------- slowloris

SIP_MSG = (
    "INVITE sip:+13175550100@127.0.0.1:15060 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.9:5999;branch=z9hG4bKslowloris\r\n"
    "From: <sip:slow@127.0.0.9>;tag=slow\r\n"
    "To: <sip:+13175550100@127.0.0.1>\r\n"
    "Call-ID: slowloris@127.0.0.9\r\n"
    "CSeq: 1 INVITE\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:slow@127.0.0.9:5999;transport=tcp>\r\n"
    "Content-Length: 0\r\n\r\n").encode()


def client_hello(args):
    """The bytes of a real ClientHello, to dribble over a plain socket."""
    ctx = client_ctx(args, verify=False)
    inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outb, server_hostname=args.sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outb.read()


class SlowKind:
    def __init__(self, name, timeout):
        self.name = name
        self.timeout = timeout      # the tlstrunk deadline that should cut it
        self.conns = 0
        self.cut = []               # seconds from the first byte to the cut
        self.not_cut = 0            # still open long past the deadline
        self.early = 0              # closed before sending 1 byte (refused)
        self.errors = {}
        self.bytes = 0

    def error(self, e):
        name = type(e).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


async def slow_client(kind, args, src, deadline, payload, ctx):
    port = args.tcp_port if kind.name == "tcp" else args.tls_port
    give_up = kind.timeout * 2 + 5
    while now() + kind.timeout + 4 < deadline:
        try:
            if kind.name == "tls":
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    args.host, port, ssl=ctx, server_hostname=args.sni,
                    local_addr=(src, 0), ssl_handshake_timeout=args.timeout),
                    args.timeout + 5)
            else:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    args.host, port, local_addr=(src, 0)), args.timeout)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
            kind.error(e)
            await asyncio.sleep(1)
            continue
        kind.conns += 1
        closed = asyncio.ensure_future(r.read(4096))
        t_first = now()
        i = 0
        result = None
        while True:
            if closed.done():
                try:
                    data = closed.result()
                except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
                    data = b""
                if data:        # an answer (e.g. 4xx): keep waiting for the close
                    closed = asyncio.ensure_future(r.read(4096))
                    continue
                result = "cut"
                break
            if now() - t_first > give_up:
                result = "not_cut"
                break
            try:
                w.write(payload[i % len(payload):i % len(payload) + 1])
                await w.drain()
                kind.bytes += 1
                i += 1
            except (OSError, ssl.SSLError):
                result = "cut"
                break
            await asyncio.wait({closed}, timeout=args.interval)
        held = now() - t_first
        if result == "cut":
            if i <= 1 and held < 0.5 and kind.name != "hs":
                kind.early += 1
            else:
                kind.cut.append(held)
        else:
            kind.not_cut += 1
        closed.cancel()
        w.close()


async def slow_main(args):
    deadline = now() + args.duration
    ctx = client_ctx(args)
    hello = client_hello(args)
    kinds, tasks = [], []
    for name, srcs, timeout, payload in (
            ("tcp", args.tcp_sources, args.message_timeout, SIP_MSG),
            ("tls", args.tls_sources, args.message_timeout, SIP_MSG),
            ("hs", args.hs_sources, args.handshake_timeout, hello)):
        k = SlowKind(name, timeout)
        kinds.append(k)
        srcs = source_list(srcs)
        for i in range(args.clients):
            tasks.append(slow_client(k, args, srcs[i % len(srcs)], deadline,
                                     payload, ctx))
    print(f"slowloris: {args.clients} clients each on PBX TCP (SIP message), "
          f"TLS (SIP message after the handshake) and TLS (ClientHello), one "
          f"byte every {args.interval} s, for {args.duration:.0f} s", flush=True)
    await asyncio.gather(*tasks)
    out = {}
    labels = {"tcp": "PBX TCP, SIP message", "tls": "TLS, SIP message",
              "hs": "TLS, ClientHello"}
    for k in kinds:
        mn, avg, mx = stats(k.cut)
        p = k.name.upper()
        out.update({f"{p}_CONNS": k.conns, f"{p}_CUT": len(k.cut),
                    f"{p}_NOT_CUT": k.not_cut, f"{p}_EARLY": k.early,
                    f"{p}_ERRORS": sum(k.errors.values()), f"{p}_BYTES": k.bytes,
                    f"{p}_CUT_MIN": mn, f"{p}_CUT_AVG": avg, f"{p}_CUT_MAX": mx})
        detail = ", ".join(f"{n} {v}" for n, v in sorted(k.errors.items()))
        print(f"  {labels[k.name]}: {k.conns} connections, {len(k.cut)} cut by "
              f"tlstrunk after {mn:.1f}..{mx:.1f} s (avg {avg:.1f}, deadline "
              f"{k.timeout} s), {k.not_cut} never cut, {k.early} refused at once, "
              f"{sum(k.errors.values())} client errors"
              f"{' (' + detail + ')' if detail else ''}, {k.bytes} bytes dribbled",
              flush=True)
    write_out(args.out, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("idle", "slow"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tcp-port", type=int, default=15060)
    ap.add_argument("--tls-port", type=int, default=15061)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--sni", default="sbc.test.example")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tcp-sources", default="127.0.1.1-40")
    ap.add_argument("--tls-sources", default="127.0.2.1-40")
    ap.add_argument("--hs-sources", default="127.0.5.1-10")
    ap.add_argument("--timeout", type=float, default=15,
                    help="client-side connect/handshake timeout")
    # idle
    ap.add_argument("--per-source", type=int, default=25)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--settle-max", type=float, default=15)
    ap.add_argument("--hold", type=float, default=30)
    ap.add_argument("--ready", help="file written once the flood is up")
    ap.add_argument("--probe-source", help="try one more TCP connection from here while held")
    # slow
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--message-timeout", type=float, default=5)
    ap.add_argument("--handshake-timeout", type=float, default=5)
    args = ap.parse_args()
    asyncio.run(idle_main(args) if args.mode == "idle" else slow_main(args))


if __name__ == "__main__":
    sys.exit(main())
