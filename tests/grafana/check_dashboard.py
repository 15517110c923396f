#!/usr/bin/env python3
"""check_dashboard.py - deploy/grafana/tlstrunk.json against what tlstrunk
really exports, standard library only (tests/integration/71_grafana.sh).

    check_dashboard.py check DASHBOARD.json SCRAPE.txt [SCRAPE.txt ...]
        The dashboard loads, is a Grafana dashboard of a current schema with
        the datasource and instance variables and the panels below (by
        title), and every PromQL expression in it (panel targets and the
        instance variable's label_values) uses only metrics, labels and
        label values found in the scrapes (text format, parsed by
        tests/cloud4/promparse.py). Prints "ok: ..." or one problem per
        line and exits 1.
    check_dashboard.py mutants DASHBOARD.json SCRAPE.txt [...]
        Breaks a copy of the dashboard in several ways (a misspelt metric,
        label, label value or function, a missing panel, a counter without
        rate(), ...) and checks that "check" rejects every one of them.
    check_dashboard.py exprs DASHBOARD.json
        Every expression, one per line, Grafana's macros replaced
        ($__rate_interval -> 1m, $instance -> .*), as JSON
        {"panel", "legend", "expr"}: for promtool or a live Prometheus.
    check_dashboard.py live DASHBOARD.json PROMETHEUS_URL
        Runs every expression against a Prometheus server that has scraped
        tlstrunk (instant queries, $__rate_interval -> RANGE env or 15s):
        each must succeed and return at least one series.

What an expression may use (rules of PromQL and of this dashboard):
  - a metric name is an identifier that is not a PromQL function,
    aggregation or keyword; it must be a sample name in the scrape;
  - a function or aggregation name must be one PromQL has;
  - every label in a selector {label op "value"} exists on that metric in
    the scrape (instance and job are added by Prometheus, so they are
    allowed anywhere); a literal value with = must be one the scrape
    carries, a regex with =~ must match at least one;
  - every selector filters on instance=~"$instance";
  - labels in by (...) / without (...) / on (...) / ignoring (...) exist on
    every metric of the expression;
  - {{label}} in a legend names a label the result has: one of the by (...)
    labels when the expression aggregates, none after an aggregation
    without by, otherwise a label of every metric;
  - counters (TYPE counter) only inside rate(), irate() or increase() of a
    range; gauges never inside those.
"""
import copy
import json
import math
import os
import re
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'cloud4'))
import promparse  # noqa: E402

# The panels the dashboard must have (issue 18), by exact title.
REQUIRED_PANELS = [
    'Calls active',
    'Calls per second by direction and result',
    'Cloud proxies up',
    'TLS handshakes per second',
    'TLS handshake failures by reason',
    'Our certificate: days left',
    'Cloud certificates: days left',
    'Media packets per second by leg and direction',
    'SRTP failures per second',
    'Refusals per second by reason',
    'Media drops per second by reason',
]
# Metrics some panel must query (so that a panel cannot lose its point).
REQUIRED_METRICS = [
    'tlstrunk_calls_active', 'tlstrunk_calls_total', 'tlstrunk_cloud_proxy_up',
    'tlstrunk_tls_handshakes_total', 'tlstrunk_certificate_expiry_seconds',
    'tlstrunk_media_packets_total', 'tlstrunk_srtp_failures_total',
    'tlstrunk_refused_sources_total', 'tlstrunk_connections_refused_total',
    'tlstrunk_calls_refused_total', 'tlstrunk_media_dropped_total',
]
MIN_SCHEMA = 36            # Grafana 9.0; 39 is Grafana 10.4/11.0
PANEL_TYPES = {'row', 'timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text'}
DS_VAR = 'DS_PROMETHEUS'
DS_UID = '${%s}' % DS_VAR
TARGET_LABELS = {'instance', 'job'}   # added by Prometheus at scrape time

AGGREGATIONS = {'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count',
                'count_values', 'bottomk', 'topk', 'quantile'}
FUNCTIONS = set('''
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil
changes clamp clamp_max clamp_min cos cosh count_over_time day_of_month
day_of_week day_of_year days_in_month deg delta deriv exp floor histogram_count
histogram_fraction histogram_quantile histogram_stddev histogram_stdvar
histogram_sum holt_winters hour idelta increase irate label_join label_replace
last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute
month pi predict_linear present_over_time quantile_over_time rad rate resets
round scalar sgn sin sinh sort sort_desc sqrt stddev_over_time stdvar_over_time
sum_over_time tan tanh time timestamp vector year'''.split())
CLAUSES = {'by', 'without', 'on', 'ignoring', 'group_left', 'group_right'}
WORD_OPS = {'and', 'or', 'unless', 'bool', 'offset', 'atan2'}
COUNTER_FUNCS = {'rate', 'irate', 'increase'}
MACROS = ('$__rate_interval', '${__rate_interval}', '$__interval', '${__interval}',
          '$__range', '${__range}')

TOKEN = re.compile(r'''
    (?P<ws>\s+)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?(?:\d+(?:ms|[smhdwy]))*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^(){}\[\],=<>@])
''', re.X)


class Scrape:
    """Sample names -> {'type', 'labels': {label: set(values)}}."""

    def __init__(self, paths):
        self.metrics = {}
        self.errors = []
        for path in paths:
            with open(path, encoding='utf-8') as f:
                families, samples, errs = promparse.parse(f.read())
            self.errors += ['%s: %s' % (path, e) for e in errs]
            for name, labels, _value, fam, _ln in samples:
                m = self.metrics.setdefault(name, {'type': None, 'labels': {}})
                m['type'] = families.get(fam, {}).get('type') or m['type']
                for k, v in labels.items():
                    m['labels'].setdefault(k, set()).add(v)


def unquote(s):
    if s[0] == '`':
        return s[1:-1]
    body = s[1:-1]
    return re.sub(r'\\(.)', lambda m: {'n': '\n', 't': '\t'}.get(m.group(1), m.group(1)), body)


def tokenize(expr):
    """[(kind, text)] without blanks; raise ValueError on a character
    PromQL does not have (a $ left outside a string, say)."""
    for mac in MACROS:
        expr = expr.replace(mac, '1m')
    toks, i = [], 0
    while i < len(expr):
        m = TOKEN.match(expr, i)
        if not m:
            raise ValueError('unexpected %r at column %d' % (expr[i:i + 10], i + 1))
        if m.lastgroup != 'ws':
            toks.append((m.lastgroup, m.group(0)))
        i = m.end()
    return toks


def analyse(expr):
    """Parse just enough of PromQL: returns dict with selectors
    [(metric, [(label, op, value)], func_around, has_range)], funcs,
    clause labels {clause: [labels]}, aggregations [(name, by_labels|None)],
    and errors."""
    out = {'selectors': [], 'funcs': [], 'clauses': [], 'aggs': [], 'errors': []}
    try:
        toks = tokenize(expr)
    except ValueError as e:
        out['errors'].append(str(e))
        return out
    stack = []           # function/aggregation name (or None) per open '('
    pending = None       # the callable whose '(' comes next
    last_agg = None      # index in out['aggs'] a by/without clause belongs to
    depth = 0
    i, n = 0, len(toks)

    def peek(k):
        return toks[k][1] if k < n else None

    while i < n:
        kind, t = toks[i]
        if kind == 'ident' and t in CLAUSES:
            if peek(i + 1) != '(':
                if t in ('group_left', 'group_right'):
                    i += 1
                    continue
                out['errors'].append('%s without a label list' % t)
                i += 1
                continue
            j, labels = i + 2, []
            while j < n and toks[j][1] != ')':
                if toks[j][0] == 'ident':
                    labels.append(toks[j][1])
                elif toks[j][1] != ',':
                    out['errors'].append('%r in the label list of %s' % (toks[j][1], t))
                j += 1
            if j >= n:
                out['errors'].append('unclosed label list of %s' % t)
            out['clauses'].append((t, labels))
            if t in ('by', 'without') and last_agg is not None:
                out['aggs'][last_agg] = (out['aggs'][last_agg][0], (t, labels))
            i = j + 1
            continue
        if kind == 'ident' and t in WORD_OPS:
            i += 1
            continue
        if kind == 'ident' and peek(i + 1) == '(' or (
                kind == 'ident' and t in AGGREGATIONS and peek(i + 1) in ('by', 'without')):
            if t in AGGREGATIONS:
                out['aggs'].append((t, None))
                last_agg = len(out['aggs']) - 1
            elif t not in FUNCTIONS:
                out['errors'].append('unknown function %s()' % t)
            out['funcs'].append(t)
            pending = t
            i += 1
            continue
        if kind == 'ident' or t == '{':
            metric = t if kind == 'ident' else None
            j = i + 1 if kind == 'ident' else i
            matchers = []
            if peek(j) == '{':
                j += 1
                while j < n and toks[j][1] != '}':
                    if toks[j][1] == ',':
                        j += 1
                        continue
                    if (toks[j][0] != 'ident' or j + 2 >= n or toks[j + 1][1] not in ('=', '!=', '=~', '!~')
                            or toks[j + 2][0] != 'str'):
                        out['errors'].append('bad matcher near %r' % ' '.join(x[1] for x in toks[j:j + 3]))
                        j += 1
                        continue
                    matchers.append((toks[j][1], toks[j + 1][1], unquote(toks[j + 2][1])))
                    j += 3
                if j >= n:
                    out['errors'].append('unclosed selector of %s' % metric)
                j += 1
            if metric is None:
                out['errors'].append('a selector without a metric name: %s' % expr)
            has_range = peek(j) == '['
            func = stack[-1] if stack else None
            out['selectors'].append((metric, matchers, func, has_range))
            i = j
            continue
        if t == '(':
            stack.append(pending)
            pending = None
            depth += 1
        elif t == ')':
            if not stack:
                out['errors'].append('unbalanced ) in %s' % expr)
            else:
                stack.pop()
        elif t == '[':
            j = i + 1
            while j < n and toks[j][1] != ']':
                j += 1
            i = j
        elif kind == 'str' and not stack:
            out['errors'].append('a string outside any call: %s' % t)
        i += 1
    if stack:
        out['errors'].append('unclosed ( in %s' % expr)
    return out


def check_expr(where, expr, legend, scrape, used):
    errs = []
    a = analyse(expr)
    errs += ['%s: %s' % (where, e) for e in a['errors']]
    metrics = [s[0] for s in a['selectors'] if s[0]]
    if not metrics:
        errs.append('%s: no metric in %r' % (where, expr))
    for metric, matchers, func, has_range in a['selectors']:
        if metric is None:
            continue
        used.add(metric)
        info = scrape.metrics.get(metric)
        if info is None:
            errs.append('%s: metric %s is not in the scrape (%r)' % (where, metric, expr))
            continue
        if not any(lab == 'instance' and op == '=~' and val == '$instance' for lab, op, val in matchers):
            errs.append('%s: %s is not filtered on instance=~"$instance"' % (where, metric))
        for lab, op, val in matchers:
            if lab in TARGET_LABELS:
                continue
            if lab not in info['labels']:
                errs.append('%s: %s has no label %r in the scrape (it has: %s)'
                            % (where, metric, lab, ', '.join(sorted(info['labels'])) or 'none'))
                continue
            vals = info['labels'][lab]
            if '$' in val or op in ('!=', '!~'):
                continue
            if op == '=' and val not in vals:
                errs.append('%s: %s{%s="%s"}: no such value in the scrape (it has: %s)'
                            % (where, metric, lab, val, ', '.join(sorted(vals))))
            if op == '=~':
                try:
                    rx = re.compile(val)
                except re.error as e:
                    errs.append('%s: bad regex %r: %s' % (where, val, e))
                    continue
                if not any(rx.fullmatch(v) for v in vals):
                    errs.append('%s: %s{%s=~"%s"} matches no value in the scrape (it has: %s)'
                                % (where, metric, lab, val, ', '.join(sorted(vals))))
                # every alternative of a plain a|b|c regex must exist as well
                if re.fullmatch(r'[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*', val):
                    for alt in val.split('|'):
                        if alt not in vals:
                            errs.append('%s: %s{%s=~"%s"}: %r is not a value in the scrape'
                                        % (where, metric, lab, val, alt))
        if info['type'] == 'counter':
            if func not in COUNTER_FUNCS or not has_range:
                errs.append('%s: counter %s is used without rate()/irate()/increase() over a range'
                            % (where, metric))
        elif func in COUNTER_FUNCS:
            errs.append('%s: %s (%s) inside %s()' % (where, metric, info['type'], func))
    known = [m for m in metrics if m in scrape.metrics]
    for clause, labels in a['clauses']:
        for lab in labels:
            if lab in TARGET_LABELS:
                continue
            missing = [m for m in known if lab not in scrape.metrics[m]['labels']]
            if missing:
                errs.append('%s: %s (%s): %s has no label %r in the scrape'
                            % (where, clause, ', '.join(labels), ', '.join(missing), lab))
    if legend:
        want = re.findall(r'\{\{\s*([^}\s]+)\s*\}\}', legend)
        if a['aggs']:
            outer = a['aggs'][0][1]      # the outermost aggregation's clause
            for lab in want:
                if outer is None:
                    errs.append('%s: legend {{%s}}: %s() without by() keeps no label'
                                % (where, lab, a['aggs'][0][0]))
                elif outer[0] == 'by' and lab not in outer[1]:
                    errs.append('%s: legend {{%s}} is not among by (%s)' % (where, lab, ', '.join(outer[1])))
        else:
            for lab in want:
                if lab in TARGET_LABELS:
                    continue
                for m in known:
                    if lab not in scrape.metrics[m]['labels']:
                        errs.append('%s: legend {{%s}}: %s has no such label' % (where, lab, m))
    return errs


def panels_of(dash):
    for p in dash.get('panels', []):
        yield p
        for q in p.get('panels', []) or []:
            yield q


def check(dash, scrape):
    errs = list(scrape.errors)
    if not isinstance(dash, dict):
        return ['the dashboard is not a JSON object']
    sv = dash.get('schemaVersion')
    if not isinstance(sv, int) or sv < MIN_SCHEMA:
        errs.append('schemaVersion %r: a current Grafana (>= %d) expected' % (sv, MIN_SCHEMA))
    for k in ('title', 'uid'):
        if not isinstance(dash.get(k), str) or not dash.get(k):
            errs.append('no %s' % k)
    if dash.get('id') is not None:
        errs.append('"id" must be null in a dashboard meant for import/provisioning')
    tvars = {v.get('name'): v for v in dash.get('templating', {}).get('list', [])}
    ds = tvars.get(DS_VAR)
    if not ds or ds.get('type') != 'datasource' or ds.get('query') != 'prometheus':
        errs.append('no datasource variable %s of type prometheus' % DS_VAR)
    used = set()
    inst = tvars.get('instance')
    if not inst or inst.get('type') != 'query':
        errs.append('no query variable "instance"')
    else:
        q = inst.get('query')
        q = q.get('query') if isinstance(q, dict) else q
        m = re.fullmatch(r'\s*label_values\(\s*(.+?)\s*,\s*instance\s*\)\s*', q or '')
        if not m:
            errs.append('variable instance: query %r is not label_values(METRIC, instance)' % q)
        else:
            a = analyse(m.group(1))
            errs += ['variable instance: %s' % e for e in a['errors']]
            for metric, _, _, _ in a['selectors']:
                if metric not in scrape.metrics:
                    errs.append('variable instance: metric %s is not in the scrape' % metric)
        if (inst.get('datasource') or {}).get('uid') != DS_UID:
            errs.append('variable instance: datasource is not %s' % DS_UID)
    ids, titles, boxes = set(), {}, []
    for p in panels_of(dash):
        title = p.get('title', '')
        where = 'panel %r' % title
        if p.get('type') not in PANEL_TYPES:
            errs.append('%s: type %r' % (where, p.get('type')))
        if p.get('id') in ids or not isinstance(p.get('id'), int):
            errs.append('%s: id %r missing or not unique' % (where, p.get('id')))
        ids.add(p.get('id'))
        g = p.get('gridPos') or {}
        if not all(isinstance(g.get(k), int) for k in 'hwxy') or g['x'] + g['w'] > 24 or g['x'] < 0:
            errs.append('%s: bad gridPos %r' % (where, g))
        else:
            for t2, g2 in boxes:
                if (g['x'] < g2['x'] + g2['w'] and g2['x'] < g['x'] + g['w']
                        and g['y'] < g2['y'] + g2['h'] and g2['y'] < g['y'] + g['h']):
                    errs.append('%s overlaps panel %r' % (where, t2))
            boxes.append((title, g))
        if title in titles:
            errs.append('%s: title used twice' % where)
        titles[title] = p
        if p.get('type') in ('row', 'text'):
            continue
        if (p.get('datasource') or {}).get('uid') != DS_UID:
            errs.append('%s: datasource is not %s' % (where, DS_UID))
        targets = p.get('targets') or []
        if not targets:
            errs.append('%s: no targets' % where)
        refs = [t.get('refId') for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            errs.append('%s: refIds %r not unique' % (where, refs))
        for t in targets:
            w = '%s %s' % (where, t.get('refId'))
            if (t.get('datasource') or {}).get('uid', DS_UID) != DS_UID:
                errs.append('%s: datasource is not %s' % (w, DS_UID))
            if not t.get('expr'):
                errs.append('%s: no expr' % w)
                continue
            errs += check_expr(w, t['expr'], t.get('legendFormat', ''), scrape, used)
    for title in REQUIRED_PANELS:
        if title not in titles:
            errs.append('no panel titled %r' % title)
    for m in REQUIRED_METRICS:
        if m not in used:
            errs.append('no panel queries %s' % m)
    return errs


def load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def targets_of(dash):
    for p in panels_of(dash):
        for t in p.get('targets') or []:
            if t.get('expr'):
                yield p, t


def mutants(dash):
    """(what, broken copy) pairs; check() must reject each."""
    out = []

    def first(pred):
        for p, t in targets_of(dash):
            if pred(p, t):
                return p['id'], t['refId']
        raise SystemExit('mutants: no target to break')

    def edit(what, pred, fn):
        pid, ref = first(pred)
        d = copy.deepcopy(dash)
        for p, t in targets_of(d):
            if p['id'] == pid and t['refId'] == ref:
                t['expr'] = fn(t['expr'])
        out.append((what, d))

    edit('metric name misspelt', lambda p, t: 'tlstrunk_calls_total' in t['expr'],
         lambda e: e.replace('tlstrunk_calls_total', 'tlstrunk_call_total'))
    edit('metric that does not exist', lambda p, t: 'tlstrunk_media_dropped_total' in t['expr'],
         lambda e: e.replace('tlstrunk_media_dropped_total', 'tlstrunk_media_discarded_total'))
    edit('gauge name misspelt', lambda p, t: 'tlstrunk_cloud_proxy_up' in t['expr'],
         lambda e: e.replace('tlstrunk_cloud_proxy_up', 'tlstrunk_cloud_proxies_up'))
    edit('label in by() misspelt', lambda p, t: 'by (direction, result)' in t['expr'],
         lambda e: e.replace('by (direction, result)', 'by (direction, outcome)'))
    edit('label in a selector that the metric lacks', lambda p, t: 'result="failed"' in t['expr'],
         lambda e: e.replace('result="failed"', 'status="failed"'))
    edit('label value that is never exported', lambda p, t: 'result="failed"' in t['expr'],
         lambda e: e.replace('result="failed"', 'result="failure"'))
    edit('regex alternative that is never exported', lambda p, t: 'reused_index' in t['expr'],
         lambda e: e.replace('reused_index', 'reused'))
    edit('unknown function', lambda p, t: 'rate(' in t['expr'],
         lambda e: e.replace('rate(', 'rat(', 1))
    edit('counter without rate()', lambda p, t: 'rate(tlstrunk_calls_total' in t['expr'],
         lambda e: re.sub(r'rate\((tlstrunk_calls_total\{[^}]*\})\[[^]]*\]\)', r'\1', e))
    edit('no instance filter', lambda p, t: 'tlstrunk_cloud_proxy_up{' in t['expr'],
         lambda e: e.replace('instance=~"$instance"', ''))
    edit('unbalanced parenthesis', lambda p, t: True, lambda e: e + ')')
    d = copy.deepcopy(dash)
    for p in panels_of(d):
        for t in p.get('targets') or []:
            if t.get('legendFormat') == '{{direction}} {{result}}':
                t['legendFormat'] = '{{direction}} {{reason}}'
    out.append(('legend label the result does not have', d))
    d = copy.deepcopy(dash)
    d['panels'] = [p for p in d['panels'] if p.get('title') != 'Cloud proxies up']
    out.append(('a required panel removed', d))
    d = copy.deepcopy(dash)
    d['templating']['list'] = [v for v in d['templating']['list'] if v.get('name') != 'instance']
    out.append(('the instance variable removed', d))
    d = copy.deepcopy(dash)
    d['schemaVersion'] = 16
    out.append(('an old schemaVersion', d))
    return out


def expand(expr, rng):
    for mac in MACROS:
        expr = expr.replace(mac, rng)
    return expr.replace('${instance}', '.*').replace('$instance', '.*')


def live(dash, url, rng):
    errs, n = [], 0
    for p, t in targets_of(dash):
        q = expand(t['expr'], rng)
        where = 'panel %r %s' % (p.get('title'), t.get('refId'))
        try:
            with urllib.request.urlopen(url.rstrip('/') + '/api/v1/query?' +
                                        urllib.parse.urlencode({'query': q}), timeout=5) as r:
                res = json.load(r)
        except urllib.error.HTTPError as e:
            errs.append('%s: %s: HTTP %d %s' % (where, q, e.code, e.read()[:300].decode('utf-8', 'replace')))
            continue
        if res.get('status') != 'success':
            errs.append('%s: %s: %s' % (where, q, res))
            continue
        data = res['data']['result']
        if not data:
            errs.append('%s: %s: no series' % (where, q))
            continue
        if any(not math.isfinite(float(s['value'][1])) for s in data):
            errs.append('%s: %s: a value that is not finite: %s' % (where, q, data))
        n += len(data)
    inst = {v.get('name'): v for v in dash['templating']['list']}['instance']
    q = inst['query']['query'] if isinstance(inst['query'], dict) else inst['query']
    m = re.fullmatch(r'\s*label_values\(\s*(.+?)\s*,\s*instance\s*\)\s*', q)
    with urllib.request.urlopen(url.rstrip('/') + '/api/v1/label/instance/values?' +
                                urllib.parse.urlencode({'match[]': m.group(1)}), timeout=5) as r:
        vals = json.load(r)['data']
    if not vals:
        errs.append('variable instance: %s gives no value' % q)
    return errs, n, vals


def main(argv):
    if len(argv) >= 4 and argv[1] in ('check', 'mutants'):
        try:
            dash = load(argv[2])
        except (OSError, ValueError) as e:
            print('%s does not load: %s' % (argv[2], e))
            return 1
        scrape = Scrape(argv[3:])
        if argv[1] == 'check':
            errs = check(dash, scrape)
            for e in errs:
                print(e)
            if errs:
                return 1
            nt = sum(1 for _ in targets_of(dash))
            np_ = sum(1 for p in panels_of(dash) if p.get('type') != 'row')
            print('ok: %d panels, %d expressions, %d metrics of the scrape used, schemaVersion %d'
                  % (np_, nt, len({s[0] for _, t in targets_of(dash)
                                   for s in analyse(t['expr'])['selectors']}), dash['schemaVersion']))
            return 0
        if check(dash, scrape):
            print('mutants: the dashboard itself does not pass check')
            return 1
        bad = 0
        for what, d in mutants(dash):
            errs = check(d, scrape)
            if not errs:
                print('NOT caught: %s' % what)
                bad += 1
            else:
                print('caught: %s: %s' % (what, errs[0]))
        return 1 if bad else 0
    if len(argv) == 3 and argv[1] == 'exprs':
        for p, t in targets_of(load(argv[2])):
            print(json.dumps({'panel': p.get('title'), 'legend': t.get('legendFormat', ''),
                              'expr': expand(t['expr'], '1m')}))
        return 0
    if len(argv) == 4 and argv[1] == 'live':
        errs, n, vals = live(load(argv[2]), argv[3], os.environ.get('RANGE', '15s'))
        for e in errs:
            print(e)
        if errs:
            return 1
        print('ok: every expression returned data (%d series), instance values %s' % (n, vals))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
