#!/usr/bin/env python3
"""calls.py - per-call evidence from sipp message logs and Kamailio logs,
for the multi-proxy tests (tests/integration/62..69). Standard library only.

As a module:
    sipp_messages(path)      every message in a sipp -trace_msg log
    uac_calls(path)          per Call-ID summary of a sipp UAC's calls
    kamailio_events(path)    CLOUD-RX / CLOUD-TX / CLOUD-MODE lines as dicts

As a program:
    calls.py uac MSGLOG      one JSON object per call (see uac_calls)
"""
import datetime
import json
import re
import sys

_SEP = re.compile(r'^-{10,}\s+(\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d(?:\.\d+)?)\s*$')
_STATUS = re.compile(r'^SIP/2\.0\s+(\d{3})\b')
_REQUEST = re.compile(r'^([A-Z]+)\s+\S+\s+SIP/2\.0$')


def _header(lines, *names):
    want = {n.lower() for n in names}
    for ln in lines:
        if not ln.strip():
            break
        k, sep, v = ln.partition(':')
        if sep and k.strip().lower() in want:
            return v.strip()
    return None


def sipp_messages(path):
    """[{t, dir: 'out'|'in', start, method, status, callid, cseq_num,
    cseq_method, to_tag}] in log order; t is the epoch (sipp logs local time)."""
    msgs, cur = [], None

    def close():
        if cur is None or cur['dir'] is None:
            return
        body = cur.pop('lines')
        while body and not body[0].strip():
            body.pop(0)
        if not body:
            return
        start = body[0].strip()
        cur['start'] = start
        m = _STATUS.match(start)
        cur['status'] = int(m.group(1)) if m else None
        m = _REQUEST.match(start)
        cur['method'] = m.group(1) if m else None
        cur['callid'] = _header(body[1:], 'call-id', 'i')
        cseq = (_header(body[1:], 'cseq') or '').split()
        cur['cseq_num'] = int(cseq[0]) if cseq and cseq[0].isdigit() else None
        cur['cseq_method'] = cseq[1] if len(cseq) > 1 else None
        to = _header(body[1:], 'to', 't') or ''
        m = re.search(r';\s*tag=([^;>\s]+)', to)
        cur['to_tag'] = m.group(1) if m else None
        msgs.append(cur)

    with open(path, encoding='utf-8', errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\r\n')
            m = _SEP.match(line)
            if m:
                close()
                ts = m.group(1) + ' ' + m.group(2)
                fmt = '%Y-%m-%d %H:%M:%S.%f' if '.' in m.group(2) else '%Y-%m-%d %H:%M:%S'
                cur = {'t': datetime.datetime.strptime(ts, fmt).timestamp(),
                       'dir': None, 'lines': []}
                continue
            if cur is None:
                continue
            if cur['dir'] is None:
                if 'message sent' in line:
                    cur['dir'] = 'out'
                elif 'message received' in line:
                    cur['dir'] = 'in'
                continue
            cur['lines'].append(line)
    close()
    return msgs


def uac_calls(path):
    """{callid: {callid, t_invite, invite_sends, finals: [[status, to_tag, t]],
    t_answer, invite_status, t_bye, bye_status, t_bye_final, ok}} for the
    calls a sipp UAC placed (first message of each Call-ID sent by it).
    invite_status is the first final response to the INVITE (None: none
    came); ok: INVITE answered 200 and BYE answered 200."""
    calls = {}
    for m in sipp_messages(path):
        cid = m['callid']
        if cid is None:
            continue
        c = calls.get(cid)
        if c is None:
            if m['dir'] != 'out' or m['method'] != 'INVITE':
                continue        # not a call this UAC placed
            c = calls[cid] = {'callid': cid, 't_invite': m['t'], 'invite_sends': 0,
                              'finals': [], 't_answer': None, 'invite_status': None,
                              't_bye': None, 'bye_status': None, 't_bye_final': None}
        if m['dir'] == 'out' and m['method'] == 'INVITE':
            c['invite_sends'] += 1
        elif m['dir'] == 'out' and m['method'] == 'BYE':
            if c['t_bye'] is None:
                c['t_bye'] = m['t']
        elif m['dir'] == 'in' and m['status'] is not None:
            if m['cseq_method'] == 'INVITE' and m['status'] >= 200:
                c['finals'].append([m['status'], m['to_tag'], m['t']])
                if c['invite_status'] is None:
                    c['invite_status'] = m['status']
                    c['t_answer'] = m['t']
            elif m['cseq_method'] == 'BYE' and m['status'] >= 200 and c['bye_status'] is None:
                c['bye_status'] = m['status']
                c['t_bye_final'] = m['t']
    for c in calls.values():
        c['ok'] = c['invite_status'] == 200 and c['bye_status'] == 200
    return calls


_KV = re.compile(r'(\w+)=(\[[^\]]*\]|\S+)')


def kamailio_events(path):
    """[{kind: 'RX'|'RX-REPLY'|'TX'|'TX-REPLY'|'MODE', method, status, callid,
    t, ...}] from one Kamailio log (missing file: [])."""
    out = []
    try:
        f = open(path, encoding='utf-8', errors='replace')
    except FileNotFoundError:
        return out
    with f:
        for line in f:
            m = re.search(r'CLOUD-(RX-REPLY|TX-REPLY|RX|TX|MODE) (.*)$', line)
            if not m:
                continue
            ev = {'kind': m.group(1)}
            rest = m.group(2)
            if ev['kind'] == 'MODE':
                ev['mode'] = rest.split()[0]
            for k, v in _KV.findall(rest):
                ev.setdefault(k, v)
            try:
                ev['t'] = float(ev.get('t', 'nan'))
            except ValueError:
                ev['t'] = float('nan')
            if 'status' in ev and ev['status'].isdigit():
                ev['status'] = int(ev['status'])
            out.append(ev)
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == 'uac':
        for c in sorted(uac_calls(argv[2]).values(), key=lambda c: c['t_invite']):
            print(json.dumps(c))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
