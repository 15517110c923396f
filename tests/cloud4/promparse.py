#!/usr/bin/env python3
"""promparse.py - a strict parser for the Prometheus text exposition format
(version 0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/),
standard library only, for tests/integration/68_metrics_healthz.sh.

    promparse.py check FILE
        Parse FILE strictly; print "ok: N families, M samples" or one
        "line L: reason" per problem and exit 1. When the prometheus_client
        package is importable, its parser must accept the text too.
    promparse.py value FILE NAME [LABEL=VALUE ...]
        Sum of the samples named NAME whose labels include every LABEL=VALUE
        given; exit 3 (and print nothing) when no sample matches.
    promparse.py dump FILE
        Every sample as: name{labels} value
    promparse.py selftest
        The parser accepts a valid exposition and rejects known-bad ones.

What "strict" means here (each is a rule of the format, or of what the
Prometheus server's own parser rejects):
  - UTF-8; every line ends with \\n (the last one too); no \\r anywhere
  - "# HELP name text" (escapes \\\\ and \\n only) at most once per name
  - "# TYPE name counter|gauge|histogram|summary|untyped" at most once per
    name, before any sample of that metric
  - samples: name [{label="value",...}] value [timestamp]; metric and label
    names match [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*, label
    names not starting with __ , no label twice, values escaped only with
    \\\\ \\" \\n; value a float, +Inf, -Inf or NaN; timestamp an integer
  - all lines of one metric family in one group (not interleaved)
  - no two samples with the same name and label set
  - counters: finite, >= 0; histograms: le on every _bucket, a +Inf
    bucket, cumulative counts, _count equal to the +Inf bucket; summaries:
    quantile in [0,1]
"""
import math
import re
import sys

METRIC_RE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL_RE = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
FLOAT_RE = re.compile(r'[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$')
INT_RE = re.compile(r'-?\d+$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


class ParseError(Exception):
    pass


def _float(tok):
    if tok in ('+Inf', 'Inf'):
        return math.inf
    if tok == '-Inf':
        return -math.inf
    if tok == 'NaN':
        return math.nan
    if not FLOAT_RE.match(tok):
        raise ParseError('bad sample value %r' % tok)
    return float(tok)


def _labels(s, i, errs, ln):
    """Parse {...} starting at s[i] == '{'; return (dict, index after '}')."""
    assert s[i] == '{'
    i += 1
    labels = {}
    while True:
        while i < len(s) and s[i] in ' \t':
            i += 1
        if i < len(s) and s[i] == '}':
            return labels, i + 1
        m = LABEL_RE.match(s, i)
        if not m:
            raise ParseError('bad label name at column %d' % (i + 1))
        name = m.group(0)
        if name.startswith('__'):
            raise ParseError('reserved label name %r' % name)
        if name in labels:
            raise ParseError('label %r given twice' % name)
        i = m.end()
        while i < len(s) and s[i] in ' \t':
            i += 1
        if i >= len(s) or s[i] != '=':
            raise ParseError('expected = after label %r' % name)
        i += 1
        while i < len(s) and s[i] in ' \t':
            i += 1
        if i >= len(s) or s[i] != '"':
            raise ParseError('label %r: value not quoted' % name)
        i += 1
        val = []
        while True:
            if i >= len(s):
                raise ParseError('label %r: unterminated value' % name)
            c = s[i]
            if c == '\\':
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    raise ParseError('label %r: invalid escape sequence' % name)
                val.append('\n' if s[i + 1] == 'n' else s[i + 1])
                i += 2
                continue
            if c == '"':
                i += 1
                break
            val.append(c)
            i += 1
        labels[name] = ''.join(val)
        while i < len(s) and s[i] in ' \t':
            i += 1
        if i < len(s) and s[i] == ',':
            i += 1
            continue
        if i < len(s) and s[i] == '}':
            return labels, i + 1
        raise ParseError('expected , or } after label %r' % name)


def parse(text):
    """Return (families, samples, errors): families {name: {'type', 'help'}},
    samples [(name, labels, value, family, line)], errors ["line L: why"]."""
    errs = []
    families = {}
    samples = []
    seen = set()
    done_families = set()     # families whose group has ended
    current = None            # family of the previous sample
    if '\r' in text:
        errs.append('line %d: carriage return (\\r) in the exposition'
                    % (text[:text.index('\r')].count('\n') + 1))
    if text and not text.endswith('\n'):
        errs.append('line %d: the last line does not end with \\n' % (text.count('\n') + 1))
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()

    def family_of(name):
        for suf, kinds in (('_bucket', ('histogram',)), ('_sum', ('histogram', 'summary')),
                           ('_count', ('histogram', 'summary'))):
            if name.endswith(suf):
                base = name[:-len(suf)]
                if families.get(base, {}).get('type') in kinds:
                    return base
        return name

    for ln, raw in enumerate(lines, 1):
        line = raw.lstrip(' \t')
        if line == '':
            continue
        try:
            if line.startswith('#'):
                toks = line[1:].lstrip(' \t').split(None, 2)
                if len(toks) < 2 or toks[0] not in ('HELP', 'TYPE'):
                    continue          # an ordinary comment
                kw, name = toks[0], toks[1]
                if not METRIC_RE.fullmatch(name):
                    raise ParseError('bad metric name %r in %s' % (name, kw))
                fam = families.setdefault(name, {'type': None, 'help': None})
                if kw == 'TYPE':
                    typ = toks[2].strip() if len(toks) > 2 else ''
                    if typ not in TYPES:
                        raise ParseError('unknown type %r for %s' % (typ, name))
                    if fam['type'] is not None:
                        raise ParseError('second TYPE line for %s' % name)
                    if any(s[3] == name or s[0] == name for s in samples):
                        raise ParseError('TYPE for %s after its samples' % name)
                    fam['type'] = typ
                else:
                    doc = toks[2] if len(toks) > 2 else ''
                    if re.search(r'\\[^\\n]|\\$', doc):
                        raise ParseError('invalid escape sequence in HELP for %s' % name)
                    if fam['help'] is not None:
                        raise ParseError('second HELP line for %s' % name)
                    fam['help'] = doc
                continue
            m = METRIC_RE.match(line)
            if not m:
                raise ParseError('bad metric name')
            name = m.group(0)
            i = m.end()
            labels = {}
            if i < len(line) and line[i] == '{':
                labels, i = _labels(line, i, errs, ln)
            rest = line[i:]
            if rest and rest[0] not in ' \t':
                raise ParseError('no blank between name/labels and value')
            toks = rest.split()
            if len(toks) not in (1, 2):
                raise ParseError('expected value [timestamp], got %r' % rest.strip())
            value = _float(toks[0])
            if len(toks) == 2 and not INT_RE.match(toks[1]):
                raise ParseError('bad timestamp %r' % toks[1])
            fam = family_of(name)
            if fam != current:
                if fam in done_families:
                    raise ParseError('samples of %s are not in one group' % fam)
                if current is not None:
                    done_families.add(current)
                current = fam
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                raise ParseError('duplicate sample %s%s' % (name, labels))
            seen.add(key)
            samples.append((name, labels, value, fam, ln))
        except ParseError as e:
            errs.append('line %d: %s: %r' % (ln, e, raw[:120]))

    # Semantic checks per family type.
    for name, labels, value, fam, ln in samples:
        typ = families.get(fam, {}).get('type')
        if typ == 'counter' and not (math.isfinite(value) and value >= 0):
            errs.append('line %d: counter %s has value %r' % (ln, name, value))
        if typ == 'summary' and name == fam:
            q = labels.get('quantile')
            try:
                ok = q is not None and 0 <= float(q) <= 1
            except ValueError:
                ok = False
            if not ok:
                errs.append('line %d: summary %s sample without a quantile in [0,1]' % (ln, name))
    hist = {}
    for name, labels, value, fam, ln in samples:
        if families.get(fam, {}).get('type') != 'histogram':
            continue
        if name == fam + '_bucket':
            if 'le' not in labels:
                errs.append('line %d: histogram bucket without le' % ln)
                continue
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != 'le'))
            try:
                le = _float(labels['le'])
            except ParseError:
                errs.append('line %d: bad le %r' % (ln, labels['le']))
                continue
            hist.setdefault((fam, rest), {'b': [], 'count': None})['b'].append((le, value))
        elif name == fam + '_count':
            rest = tuple(sorted(labels.items()))
            hist.setdefault((fam, rest), {'b': [], 'count': None})['count'] = value
    for (fam, rest), h in hist.items():
        b = sorted(h['b'])
        if not b or b[-1][0] != math.inf:
            errs.append('histogram %s%s has no +Inf bucket' % (fam, dict(rest)))
            continue
        if any(b[k][1] > b[k + 1][1] for k in range(len(b) - 1)):
            errs.append('histogram %s%s buckets are not cumulative' % (fam, dict(rest)))
        if h['count'] is not None and h['count'] != b[-1][1]:
            errs.append('histogram %s%s: _count %r != +Inf bucket %r'
                        % (fam, dict(rest), h['count'], b[-1][1]))
    return families, samples, errs


def _read(path):
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        print('not UTF-8: %s' % e)
        sys.exit(1)


GOOD = r'''# HELP tlstrunk_calls_total Calls by direction and result.
# TYPE tlstrunk_calls_total counter
tlstrunk_calls_total{direction="pbx_to_cloud",result="answered"} 3
tlstrunk_calls_total{direction="cloud_to_pbx",result="answered",} 1 1700000000000
# TYPE tlstrunk_calls_active gauge
tlstrunk_calls_active 0
# a comment
# TYPE rtt histogram
rtt_bucket{le="0.1"} 1
rtt_bucket{le="+Inf"} 2
rtt_sum 0.3
rtt_count 2
odd_label{path="a\\b\"c\nd"} NaN
'''
BAD = {
    'no final newline': 'a 1',
    'CRLF': 'a 1\r\n',
    'bad value': 'a one\n',
    'unquoted label': 'a{x=1} 1\n',
    'bad escape': 'a{x="\\q"} 1\n',
    'duplicate label': 'a{x="1",x="2"} 1\n',
    'duplicate series': 'a{x="1"} 1\na{x="1"} 2\n',
    'interleaved': 'a 1\nb 1\na{x="1"} 1\n',
    'TYPE after samples': 'a 1\n# TYPE a counter\n',
    'two TYPEs': '# TYPE a counter\n# TYPE a gauge\na 1\n',
    'unknown type': '# TYPE a meter\na 1\n',
    'negative counter': '# TYPE a counter\na -1\n',
    'bad name': '1a 1\n',
    'reserved label': 'a{__x="1"} 1\n',
    'junk after value': 'a 1 2 3\n',
    'no +Inf bucket': '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n',
}


def selftest():
    bad = 0
    _, samples, errs = parse(GOOD)
    if errs or len(samples) != 8:
        print('valid text rejected or misparsed: %s (%d samples)' % (errs, len(samples)))
        bad += 1
    labels = [s[1] for s in samples if s[0] == 'odd_label'][0]
    if labels.get('path') != 'a\\b"c\nd':
        print('label unescaping wrong: %r' % labels)
        bad += 1
    for why, text in BAD.items():
        if not parse(text)[2]:
            print('accepted invalid text (%s): %r' % (why, text))
            bad += 1
    print('selftest: %s' % ('ok' if not bad else '%d failures' % bad))
    return 1 if bad else 0


def main(argv):
    if argv[1:] == ['selftest']:
        return selftest()
    if len(argv) >= 3 and argv[1] in ('check', 'value', 'dump'):
        text = _read(argv[2])
        families, samples, errs = parse(text)
        if argv[1] == 'check':
            try:
                from prometheus_client.parser import text_string_to_metric_families
            except ImportError:
                text_string_to_metric_families = None
            if text_string_to_metric_families is not None:
                try:
                    list(text_string_to_metric_families(text))
                except Exception as e:      # its parser raises ValueError & co.
                    errs.append('prometheus_client parser: %s' % e)
            if not samples and not errs:
                errs.append('no samples at all')
            for e in errs:
                print(e)
            if errs:
                return 1
            print('ok: %d families, %d samples%s' % (
                len({s[3] for s in samples}), len(samples),
                ' (prometheus_client agrees)' if text_string_to_metric_families else ''))
            return 0
        if errs:
            for e in errs:
                print(e, file=sys.stderr)
            return 1
        if argv[1] == 'dump':
            for name, labels, value, _, _ in samples:
                lab = ','.join('%s="%s"' % kv for kv in sorted(labels.items()))
                print('%s{%s} %r' % (name, lab, value))
            return 0
        want = {}
        for a in argv[4:]:
            k, sep, v = a.partition('=')
            if not sep:
                print('bad LABEL=VALUE %r' % a, file=sys.stderr)
                return 2
            want[k] = v
        hits = [v for n, lab, v, _, _ in samples
                if n == argv[3] and all(lab.get(k) == v for k, v in want.items())]
        if not hits:
            return 3
        total = sum(hits)
        print(int(total) if math.isfinite(total) and total == int(total) else total)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
