#!/usr/bin/env bash
# 88_packaging.sh - packaging and deployment files (issue 6), checked the
# way they can be without a container engine or a cluster:
#
# docs   the keys config/config.c accepts (its cfg_keys[] table) are exactly
#        the keys `tlstrunk --help` lists (one "[section] key = default"
#        line and one line of meaning each), exactly the keys
#        config/tlstrunk.ini.example sets (once each), and README.md's
#        "Configuration keys" block is --help's, line for line.  Every key
#        of ../shared/spec/config-contract.md is among them with the
#        contract's default; the example's values are --help's defaults
#        except for the site keys (no default, or "required ...").
#        `tlstrunk -t` on the example fails only on the certificate file;
#        on a copy naming the test PKI it passes.
# docker the Dockerfile: build stage FROM debian:12, runtime FROM
#        debian:12-slim, non-root USER, HEALTHCHECK, EXPOSE of the default
#        ports, ENTRYPOINT/CMD; every COPY source exists and is not in
#        .dockerignore; the build stage installs the -dev package of every
#        pkg_check_modules() module (outside the tests' block) and the build
#        tools; the build stage's own commands, run on a copy of exactly
#        what it COPYs, build a binary (hadolint as well when installed)
#        whose every linked library comes from a package the runtime stage
#        installs (directly needed: listed; the rest: in the Depends
#        closure), modulo libc6 and libgcc-s1 of the base image; the runtime
#        stage installs nothing else but ca-certificates.
# health deploy/docker/healthcheck.sh (the image's HEALTHCHECK) against a
#        real tlstrunk whose admin_listen it reads from the configuration:
#        0 with HTTP 200 while Kamailio (the cloud) is up, 1 with the 503
#        reason once it is gone, 1 when tlstrunk is not running, 1 when
#        admin_listen is off.
# certs  deploy/docker/certwatch.sh (the Kubernetes pod's reload container):
#        tlstrunk's certificate laid out as a Secret volume (tls.crt ->
#        ..data/tls.crt); swapping ..data as the kubelet does makes it send
#        SIGHUP, and tlstrunk logs the reload.
# systemd `systemd-analyze verify` of deploy/systemd/tlstrunk.service prints
#        nothing (the unit's /usr/local/bin/tlstrunk is this build, on a
#        tmpfs in a private mount namespace); `systemd-analyze security`
#        rates it at most 2.0; the issue's hardening lines are there.
# k8s    every YAML document of deploy/kubernetes and deploy/compose parses;
#        the pod has the PBX and tlstrunk containers, the config from the
#        ConfigMap at the path tlstrunk is started with, the certificate from
#        the cert-manager Certificate's Secret at the directory cert_file
#        and key_file name, httpGet probes on /healthz at admin_listen's port
#        (not loopback), hostNetwork, a grace period above drain_timeout, a
#        non-root user; the compose file likewise; the configurations both
#        ship pass `tlstrunk -t` once pointed at the test PKI.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

ADMIN_PORT=19091
RESULTS=()

test_init
require_tlstrunk
REPO=$REPO_ROOT

# --- tools ------------------------------------------------------------------------

# apt_need PACKAGE...: install what is missing (root only).
apt_need() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || fail "not root: apt-get install ${missing[*]} first"
	log "installing ${missing[*]}"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}"; }; } >"$WORK/apt.log" 2>&1 ||
		fail "apt-get install ${missing[*]} failed (see $WORK/apt.log)"
}

PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	apt_need python3-yaml
	PY=/usr/bin/python3
fi
command -v systemd-analyze >/dev/null 2>&1 || apt_need systemd
command -v objdump >/dev/null 2>&1 || apt_need binutils

# --- the checker (python) -------------------------------------------------------------

cat >"$WORK/pk.py" <<'PYEOF'
import glob, json, os, re, shlex, subprocess, sys

problems = []


def bad(msg):
    problems.append(msg)


def done(what):
    if problems:
        for p in problems:
            print("  - " + p)
        sys.exit(1)
    print(what)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def code_keys(repo):
    """[(section, key)] of config/config.c's cfg_keys[] table, in order."""
    src = read(os.path.join(repo, "config", "config.c"))
    m = re.search(r"cfg_keys\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if not m:
        sys.exit("config/config.c: no cfg_keys[] table")
    keys = re.findall(r'\{\s*"(\w+)",\s*"(\w+)"', m.group(1))
    if len(keys) < 10:
        sys.exit("config/config.c: cfg_keys[] parsed to %d keys only" % len(keys))
    return keys


def ini_parse(text):
    """inih's reading, enough for our files: [(section, key, value, line)]."""
    out, section = [], ""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            section = line[1:line.index("]")]
            continue
        key, _, val = line.partition("=")
        # inih: ';' starts an inline comment after a blank
        val = re.split(r"\s;", val, maxsplit=1)[0]
        out.append((section, key.strip(), val.strip(), n))
    return out


def help_keys(help_text):
    """{(section, key): (default, meaning)} and problems of shape."""
    lines = help_text.splitlines()
    keys = {}
    for i, line in enumerate(lines):
        m = re.match(r"^  \[(\w+)\] (\w+) =(?: (.*))?$", line)
        if not m:
            continue
        k = (m.group(1), m.group(2))
        if k in keys:
            bad("--help lists [%s] %s twice" % k)
        meaning = lines[i + 1] if i + 1 < len(lines) else ""
        if not re.match(r"^      \S.{5,}", meaning):
            bad("--help: [%s] %s has no line of meaning under it" % k)
        keys[k] = ((m.group(3) or "").strip(), meaning.strip())
    return keys


def key_block(text):
    lines = text.splitlines()
    try:
        a = next(i for i, l in enumerate(lines) if l.startswith("configuration keys:"))
        b = next(i for i, l in enumerate(lines) if l.startswith("every key, commented"))
    except StopIteration:
        return None
    block = lines[a:b]
    while block and not block[-1].strip():
        block.pop()
    return block


def contract_keys(path):
    """{(section, key): default or None} from config-contract.md."""
    keys, section = {}, None
    for line in read(path).splitlines():
        m = re.match(r"^##\s+`\[(\w+)\]`", line)
        if m:
            section = m.group(1)
            continue
        if line.startswith("## "):
            section = None
            continue
        if section is None:
            continue
        for key, val in re.findall(r"`(\w+) =(?: ([^`]*))?`", line):
            val = (val or "").strip()
            keys[(section, key)] = None if (not val or val.startswith("(")) else val
    return keys


def cmd_docs(repo, help_file, contract):
    keys = code_keys(repo)
    kset = set(keys)
    if len(kset) != len(keys):
        bad("config/config.c: a key appears twice in cfg_keys[]")
    help_text = read(help_file)
    hk = help_keys(help_text)
    for k in keys:
        if k not in hk:
            bad("[%s] %s (config/config.c) is missing from tlstrunk --help" % k)
    for k in hk:
        if k not in kset:
            bad("tlstrunk --help lists [%s] %s, which config/config.c does not accept" % k)

    example = os.path.join(repo, "config", "tlstrunk.ini.example")
    ex = ini_parse(read(example))
    seen = {}
    for sec, key, val, n in ex:
        k = (sec, key)
        if k in seen:
            bad("tlstrunk.ini.example:%d: [%s] %s set twice" % (n, sec, key))
        seen[k] = (val, n)
        if k not in kset:
            bad("tlstrunk.ini.example:%d: [%s] %s is not a key config/config.c knows" % (n, sec, key))
    # A [trunk NAME] key cannot be set in the example without making it a
    # file with named trunks: it is shown commented, under "; [trunk".
    ex_text = read(example)
    trunk_at = ex_text.find("; [trunk ")
    for k in keys:
        if k[0] == "trunk":
            if trunk_at < 0 or not re.search(r"^;\s*%s\s*=" % k[1],
                                              ex_text[trunk_at:], re.M):
                bad("[trunk NAME] %s (config/config.c) is not shown, "
                    "commented, under '; [trunk' in config/tlstrunk.ini.example" % k[1])
            continue
        if k not in seen:
            bad("[%s] %s (config/config.c) is not set in config/tlstrunk.ini.example" % k)
    # The example's values are the defaults, but for the site's own keys.
    site = []
    for k, (default, meaning) in hk.items():
        if k not in seen:
            continue
        val, n = seen[k]
        if default == "(required)" or "required" in meaning:
            site.append("%s.%s" % k)
            continue
        if val != default:
            bad("tlstrunk.ini.example:%d: [%s] %s = %s, but --help's default is '%s'"
                % (n, k[0], k[1], val, default))

    readme = read(os.path.join(repo, "README.md"))
    m = re.search(r"<!-- keys:begin -->\n```text\n(.*?)\n```\n<!-- keys:end -->", readme, re.S)
    hb = key_block(help_text)
    if not m:
        bad("README.md: no <!-- keys:begin --> ```text ... ``` <!-- keys:end --> block")
    elif hb is None:
        bad("tlstrunk --help: no 'configuration keys:' ... 'every key, commented' part")
    else:
        rb = m.group(1).splitlines()
        while rb and not rb[-1].strip():
            rb.pop()
        if rb != hb:
            diff = [("README: " + (a or "") + " | help: " + (b or ""))
                    for a, b in zip(rb + [None] * len(hb), hb + [None] * len(rb)) if a != b]
            bad("README.md's Configuration keys block differs from tlstrunk --help "
                "(regenerate it, see README); first difference: " + diff[0])

    ncontract = 0
    if contract and os.path.exists(contract):
        ck = contract_keys(contract)
        ncontract = len(ck)
        if ncontract < 20:
            bad("%s: parsed to %d keys only" % (contract, ncontract))
        for k, default in ck.items():
            if k not in kset:
                bad("config-contract.md's [%s] %s is not accepted by config/config.c" % k)
            elif default is not None and k in hk and hk[k][0].replace(":", ",") != default.replace(":", ","):
                bad("config-contract.md: [%s] %s = %s, but --help's default is '%s'"
                    % (k[0], k[1], default, hk[k][0]))
    done("%d keys in config.c = --help = example = README; %d contract keys accepted; "
         "site keys: %s" % (len(keys), ncontract, " ".join(sorted(site))))


def render(text, pki, name, ca=None):
    """The same file, naming the test PKI's sbc certificate."""
    subs = {"cert_file": pki + "/sbc.pem", "key_file": pki + "/sbc.key",
            "advertised_name": name}
    if ca:
        subs["ca_file"] = ca
    out, section = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line[1:line.index("]")]
        key = line.partition("=")[0].strip()
        if "=" in line and line[0] not in ";#" and key in subs and \
                section in ("tls_server", "cloud") and \
                (key != "ca_file" or section == "cloud"):
            raw = "%s = %s" % (key, subs[key])
        out.append(raw)
    return "\n".join(out) + "\n"


def cmd_render(src, dst, pki, name, ca=""):
    with open(dst, "w") as f:
        f.write(render(read(src), pki, name, ca or None))


# --- Dockerfile -------------------------------------------------------------------

def dockerfile(repo):
    """[stage dicts]: image, name, instructions [(INSTR, args, line)]."""
    stages, cont, start = [], "", 0
    for n, raw in enumerate(read(os.path.join(repo, "Dockerfile")).splitlines(), 1):
        line = raw.rstrip()
        if not cont and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cont and line.lstrip().startswith("#"):
            continue
        if not cont:
            start = n
        if line.endswith("\\"):
            cont += line[:-1] + " "
            continue
        full, cont = (cont + line).strip(), ""
        instr, _, args = full.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            w = args.split()
            stages.append({"image": w[0], "name": w[2] if len(w) > 2 and w[1].upper() == "AS" else None,
                           "ins": [], "line": start})
        elif stages:
            stages[-1]["ins"].append((instr, args.strip(), start))
    return stages


def apt_installs(stage):
    pkgs = []
    for instr, args, _ in stage["ins"]:
        if instr != "RUN":
            continue
        for part in re.split(r"&&|;", args):
            w = part.split()
            if "apt-get" in w and "install" in w:
                for x in w[w.index("install") + 1:]:
                    if not x.startswith("-"):
                        pkgs.append(x)
    return pkgs


def dpkg_owner(path):
    cands = [path, os.path.realpath(path)]
    for p in list(cands):
        cands.append("/usr" + p if not p.startswith("/usr/") else p[4:])
    for p in cands:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None


def depends_closure(pkgs):
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p],
                           capture_output=True, text=True)
        if r.returncode != 0:
            continue
        for alt in r.stdout.split(","):
            for d in alt.split("|"):
                d = re.sub(r"\(.*?\)", "", d).strip().split(":")[0]
                if d:
                    todo.append(d)
    return seen


def cmd_docker(repo, stage_dir, help_file):
    stages = dockerfile(repo)
    if len(stages) != 2:
        bad("Dockerfile: %d stages, expected 2 (build, runtime)" % len(stages))
        done("")
    build, run = stages
    if build["image"] != "debian:12" or not build["name"]:
        bad("Dockerfile:%d: the build stage must be FROM debian:12 AS <name>" % build["line"])
    if run["image"] != "debian:12-slim":
        bad("Dockerfile:%d: the runtime stage must be FROM debian:12-slim" % run["line"])
    ins = {}
    for instr, args, n in run["ins"]:
        ins.setdefault(instr, []).append((args, n))

    user = ins.get("USER", [("root", 0)])[-1][0].split(":")[0]
    if user in ("root", "0", ""):
        bad("Dockerfile: the runtime stage does not switch to a non-root USER")
    hc = " ".join(a for a, _ in ins.get("HEALTHCHECK", []))
    if "CMD" not in hc:
        bad("Dockerfile: no HEALTHCHECK ... CMD in the runtime stage")

    # COPY sources: exist, not ignored; the health check script is one.
    ignore = []
    di = os.path.join(repo, ".dockerignore")
    if os.path.exists(di):
        ignore = [l.strip().rstrip("/") for l in read(di).splitlines()
                  if l.strip() and not l.startswith("#")]
    copies = {}
    for st in stages:
        for instr, args, n in st["ins"]:
            if instr != "COPY" or "--from=" in args:
                continue
            w = shlex.split(args)
            for src in w[:-1]:
                if not os.path.exists(os.path.join(repo, src)):
                    bad("Dockerfile:%d: COPY %s: no such file in the repository" % (n, src))
                for pat in ignore:
                    if glob.fnmatch.fnmatch(src, pat) or src.startswith(pat + "/"):
                        bad("Dockerfile:%d: COPY %s is excluded by .dockerignore (%s)" % (n, src, pat))
                copies[w[-1]] = src
    hc_words = re.findall(r"\"([^\"]+)\"", hc) or hc.split()
    hc_bin = next((w for w in hc_words if w.startswith("/")), None)
    if hc_bin is None or hc_bin not in copies:
        bad("Dockerfile: the HEALTHCHECK command %s is not a file the image COPYs" % hc_bin)
    elif "/healthz" not in read(os.path.join(repo, copies[hc_bin])):
        bad("Dockerfile: the HEALTHCHECK script %s does not GET /healthz" % copies[hc_bin])

    # EXPOSE: the default listeners and the media range of --help.
    hk = help_keys(read(help_file))
    want = {"%s/udp" % hk[("pbx", "listen")][0].rsplit(":", 1)[1],
            "%s/tcp" % hk[("pbx", "listen")][0].rsplit(":", 1)[1],
            "%s/tcp" % hk[("tls_server", "listen")][0].rsplit(":", 1)[1],
            "%s-%s/udp" % (hk[("media", "port_min")][0], hk[("media", "port_max")][0])}
    exposed = set(" ".join(a for a, _ in ins.get("EXPOSE", [])).split())
    for p in sorted(want - exposed):
        bad("Dockerfile: EXPOSE lacks %s" % p)
    ep = " ".join(a for a, _ in ins.get("ENTRYPOINT", []))
    if "tlstrunk" not in ep:
        bad("Dockerfile: ENTRYPOINT does not run tlstrunk")
    cmd = " ".join(a for a, _ in ins.get("CMD", []))
    if '"-c"' not in cmd or "/etc/tlstrunk/" not in cmd:
        bad("Dockerfile: CMD does not name -c /etc/tlstrunk/...")

    # The build stage: a -dev package for every pkg-config module.
    bpk = set(apt_installs(build))
    for tool in ("cmake", "pkg-config"):
        if tool not in bpk:
            bad("Dockerfile: the build stage does not install %s" % tool)
    if "build-essential" not in bpk and not ({"gcc", "make"} <= bpk or {"gcc", "ninja-build"} <= bpk):
        bad("Dockerfile: the build stage installs no C compiler and make")
    cml = read(os.path.join(repo, "CMakeLists.txt"))
    cml = re.sub(r"if\s*\(\s*TLSTRUNK_TESTS\s*\).*?endif\s*\(\s*\)", "", cml, flags=re.S)
    mods = []
    for args in re.findall(r"pkg_check_modules\s*\(([^)]*)\)", cml):
        w = args.split()
        mods += [re.split(r"[<>=]", x)[0] for x in w[1:]
                 if x not in ("REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                              "NO_CMAKE_ENVIRONMENT_PATH")]
    if not mods:
        bad("CMakeLists.txt: no pkg_check_modules() found")
    devs = {}
    for mod in mods:
        r = subprocess.run(["pkg-config", "--variable=pcfiledir", mod], capture_output=True, text=True)
        pc = os.path.join(r.stdout.strip(), mod + ".pc")
        owner = dpkg_owner(pc) if r.returncode == 0 else None
        if owner is None:
            bad("pkg-config module %s: no Debian package owns %s here" % (mod, pc))
            continue
        devs[mod] = owner
        if owner not in bpk:
            bad("Dockerfile: the build stage does not install %s (pkg-config %s)" % (owner, mod))

    # The runtime stage: what the binary links.
    rpk = set(apt_installs(run))
    base = {"libc6", "libgcc-s1"}
    binary = os.path.join(stage_dir, "build", "tlstrunk")
    objd = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True).stdout
    needed = re.findall(r"NEEDED\s+(\S+)", objd)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libs = {}
    for line in ldd.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            if m.group(2) == "not":
                bad("ldd: %s not found" % m.group(1))
            else:
                libs[m.group(1)] = m.group(2)
        else:
            m = re.match(r"\s*(/\S+)", line)
            if m:
                libs[os.path.basename(m.group(1))] = m.group(1)
    closure = depends_closure(rpk | base)
    direct_pkgs, owners = set(), {}
    for soname, path in sorted(libs.items()):
        owner = dpkg_owner(path)
        if owner is None:
            bad("%s (%s): no Debian package owns it" % (soname, path))
            continue
        owners[soname] = owner
        if soname in needed:
            direct_pkgs.add(owner)
            if owner not in rpk and owner not in base:
                bad("the binary needs %s from %s, which the runtime stage does not install" % (soname, owner))
        elif owner not in closure:
            bad("the binary loads %s from %s, which no runtime package depends on" % (soname, owner))
    for p in sorted(rpk - direct_pkgs - {"ca-certificates"}):
        bad("the runtime stage installs %s, which provides no library the binary needs "
            "(only the runtime libraries, and ca-certificates)" % p)
    for p in sorted(rpk):
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", p], capture_output=True, text=True)
        if r.returncode != 0 or not r.stdout.strip():
            r = subprocess.run(["dpkg", "-s", p], capture_output=True, text=True)
            if r.returncode != 0:
                bad("the runtime stage installs %s: not a Debian package" % p)
    done("Dockerfile: its build stage builds, its runtime packages cover the %d linked "
         "libraries; stages %s, %s; USER %s; build installs %s for %s; runtime installs %s; "
         "linked: %s" % (len(owners), build["image"], run["image"], user,
                         " ".join(sorted(set(devs.values()))), " ".join(mods),
                         " ".join(sorted(rpk)),
                         " ".join("%s(%s)" % (s, o) for s, o in sorted(owners.items()))))


def cmd_stage(repo, out):
    """Copy what the build stage COPYs (out stands for its WORKDIR), write
    its RUN lines after the first COPY to out/build.sh."""
    build = dockerfile(repo)[0]
    workdir, script, copied = "/", [], False
    for instr, args, n in build["ins"]:
        if instr == "WORKDIR":
            workdir = args.rstrip("/") or "/"
        elif instr == "COPY":
            w = shlex.split(args)
            dst = w[-1]
            if dst.startswith("/"):
                if dst.rstrip("/") != workdir and not dst.startswith(workdir + "/"):
                    sys.exit("Dockerfile:%d: COPY to %s, outside WORKDIR %s" % (n, dst, workdir))
                dst = dst[len(workdir):].lstrip("/") or "."
            target = os.path.join(out, dst)
            if dst.endswith("/") or dst == "." or len(w) > 2:
                os.makedirs(target, exist_ok=True)
            for src in w[:-1]:
                subprocess.run(["cp", "-a", os.path.join(repo, src), target], check=True)
            copied = True
        elif instr == "RUN" and copied:
            script.append(args)
    with open(os.path.join(out, "build.sh"), "w") as f:
        f.write("set -e\n" + "\n".join(script) + "\n")
    print("\n".join(script))


# --- Kubernetes and compose ------------------------------------------------------------

def cmd_deploy(repo, out, help_file):
    import yaml
    hk = help_keys(read(help_file))
    drain = int(hk[("cloud", "drain_timeout")][0])
    docs = {}
    files = sorted(glob.glob(os.path.join(repo, "deploy/kubernetes/*.y*ml")) +
                   glob.glob(os.path.join(repo, "deploy/compose/*.y*ml")) +
                   glob.glob(os.path.join(repo, "deploy/docker-compose.y*ml")))
    for f in files:
        try:
            docs[f] = [d for d in yaml.safe_load_all(read(f)) if d is not None]
        except yaml.YAMLError as e:
            bad("%s: YAML: %s" % (os.path.relpath(f, repo), e))
    if problems:
        done("")
    k8s = [(f, d) for f, ds in docs.items() if "/kubernetes/" in f for d in ds]
    compose = [(f, d) for f, ds in docs.items() if "compose" in os.path.basename(f) for d in ds]
    if not k8s:
        bad("deploy/kubernetes: no YAML")
    if not compose:
        bad("deploy/compose: no docker-compose.yml")
    by_kind = {}
    for f, d in k8s:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind"):
            bad("%s: a document without apiVersion/kind" % os.path.relpath(f, repo))
            continue
        if d["kind"] != "Kustomization" and not (d.get("metadata") or {}).get("name"):
            bad("%s: %s without metadata.name" % (os.path.relpath(f, repo), d["kind"]))
        by_kind.setdefault(d["kind"], []).append(d)
    kust = by_kind.get("Kustomization", [])
    for k in kust:
        for r in k.get("resources", []):
            if not os.path.exists(os.path.join(repo, "deploy/kubernetes", r)):
                bad("kustomization.yaml: resource %s does not exist" % r)

    def pod_spec(d):
        spec = d.get("spec") or {}
        return (spec.get("template") or {}).get("spec") if d["kind"] != "Pod" else spec

    pods = [d for kind in ("Deployment", "StatefulSet", "DaemonSet", "Pod") for d in by_kind.get(kind, [])]
    if len(pods) != 1:
        bad("deploy/kubernetes: %d workloads, expected one pod (PBX + tlstrunk)" % len(pods))
        done("")
    spec = pod_spec(pods[0]) or {}
    ctrs = spec.get("containers") or []
    tl = [c for c in ctrs if c.get("name") == "tlstrunk"]
    others = [c for c in ctrs if "tlstrunk" not in c.get("name", "")]
    if len(tl) != 1:
        bad("the pod has no container named tlstrunk")
        done("")
    if not others:
        bad("the pod has no PBX container beside tlstrunk")
    tl = tl[0]
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    args = (tl.get("command") or []) + (tl.get("args") or [])
    cfg_path = args[args.index("-c") + 1] if "-c" in args else "/etc/tlstrunk/tlstrunk.ini"
    mounts = tl.get("volumeMounts") or []
    cfg_mount = next((m for m in mounts if m["mountPath"] == cfg_path or
                      cfg_path.startswith(m["mountPath"].rstrip("/") + "/")), None)
    ini_text = None
    if cfg_mount is None:
        bad("tlstrunk is started with -c %s, which no volumeMount provides" % cfg_path)
    else:
        v = vols.get(cfg_mount["name"], {})
        cm_name = (v.get("configMap") or {}).get("name")
        cms = [c for c in by_kind.get("ConfigMap", []) if c["metadata"]["name"] == cm_name]
        key = cfg_mount.get("subPath") or os.path.basename(cfg_path)
        if not cms:
            bad("the config volume is not a ConfigMap of deploy/kubernetes (%s)" % cm_name)
        elif key not in (cms[0].get("data") or {}):
            bad("ConfigMap %s has no key %s" % (cm_name, key))
        else:
            ini_text = cms[0]["data"][key]
            with open(os.path.join(out, "k8s.ini"), "w") as f:
                f.write(ini_text)
    ini = {(s, k): v for s, k, v, _ in ini_parse(ini_text or "")}
    # The certificate: a Secret from a cert-manager Certificate, where
    # cert_file and key_file point.
    certs = by_kind.get("Certificate", [])
    if not certs or not certs[0].get("apiVersion", "").startswith("cert-manager.io/"):
        bad("deploy/kubernetes: no cert-manager.io Certificate")
    else:
        c = certs[0]["spec"]
        secret = c.get("secretName")
        if ini and ini.get(("tls_server", "advertised_name")) not in (c.get("dnsNames") or []):
            bad("the Certificate's dnsNames lack [tls_server] advertised_name")
        if (c.get("privateKey") or {}).get("algorithm", "RSA") != "RSA":
            bad("the Certificate's key must be RSA (the cloud's suites are RSA-authenticated)")
        for key, fname in (("cert_file", "tls.crt"), ("key_file", "tls.key")):
            path = ini.get(("tls_server", key), "")
            m = next((m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
            sv = (vols.get(m["name"], {}).get("secret") or {}) if m else {}
            if sv.get("secretName") != secret:
                bad("[tls_server] %s = %s is not in the mount of Secret %s" % (key, path, secret))
            elif os.path.basename(path) != fname:
                bad("[tls_server] %s should name %s of the Secret, not %s" % (key, fname, path))
    # Probes on /healthz at admin_listen's port, reachable by the kubelet.
    admin = ini.get(("general", "admin_listen"), hk[("general", "admin_listen")][0])
    ahost, _, aport = admin.rpartition(":")
    if not admin or ahost.startswith("127.") or ahost == "[::1]":
        bad("[general] admin_listen = %s: the kubelet's httpGet probes cannot reach it" % admin)
    ports = {p.get("name"): p.get("containerPort") for p in tl.get("ports") or []}
    for probe in ("readinessProbe", "livenessProbe"):
        g = (tl.get(probe) or {}).get("httpGet")
        if not g:
            bad("tlstrunk: no %s httpGet" % probe)
            continue
        port = ports.get(g.get("port"), g.get("port"))
        if g.get("path") != "/healthz" or str(port) != aport:
            bad("tlstrunk %s: GET %s on port %s, expected /healthz on %s"
                % (probe, g.get("path"), port, aport))
    k8s_text = "".join(read(f) for f in files if "/kubernetes/" in f)
    if not spec.get("hostNetwork") and "port range" not in k8s_text:
        bad("the pod has no hostNetwork and no note on the media port range")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace <= drain:
        bad("terminationGracePeriodSeconds %s is not above drain_timeout %d" % (grace, drain))
    sc = dict(spec.get("securityContext") or {}, **(tl.get("securityContext") or {}))
    if not sc.get("runAsNonRoot") or sc.get("runAsUser") in (0, None):
        bad("tlstrunk does not run as a non-root user (runAsNonRoot, runAsUser)")
    # The reload container, when there is one, sees the certificates too.
    for c in ctrs:
        if c is tl or "tlstrunk" not in c.get("name", ""):
            continue
        if not spec.get("shareProcessNamespace"):
            bad("%s signals tlstrunk but the pod has no shareProcessNamespace" % c["name"])
        cm = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        tm = {m["mountPath"]: m["name"] for m in mounts}
        if not any(cm.get(p) == n and "secret" in vols.get(n, {}) for p, n in tm.items()):
            bad("%s does not mount tlstrunk's certificate Secret where tlstrunk does" % c["name"])

    # compose
    nini = 0
    for f, d in compose:
        svc = (d.get("services") or {}).get("tlstrunk")
        rel = os.path.relpath(f, repo)
        if not svc:
            bad("%s: no tlstrunk service" % rel)
            continue
        if len(d["services"]) < 2:
            bad("%s: no PBX service beside tlstrunk" % rel)
        if svc.get("network_mode") != "host" and "port range" not in read(f):
            bad("%s: no host network and no note on the media port range" % rel)
        g = str(svc.get("stop_grace_period", "10s"))
        secs = int(g[:-1]) * (60 if g.endswith("m") else 1) if g[-1] in "sm" else int(g)
        if secs <= drain:
            bad("%s: stop_grace_period %s is not above drain_timeout %d" % (rel, g, drain))
        user = str(svc.get("user", "10001")).split(":")[0]
        if user in ("0", "root"):
            bad("%s: tlstrunk runs as root" % rel)
        b = svc.get("build")
        if b:
            ctx = os.path.normpath(os.path.join(os.path.dirname(f), b.get("context", ".") if isinstance(b, dict) else b))
            df = b.get("dockerfile", "Dockerfile") if isinstance(b, dict) else "Dockerfile"
            if not os.path.exists(os.path.join(ctx, df)):
                bad("%s: build context %s has no %s" % (rel, ctx, df))
        for v in svc.get("volumes") or []:
            src, dst = (v.split(":") + [""])[:2] if isinstance(v, str) else (v.get("source"), v.get("target"))
            if dst == "/etc/tlstrunk/tlstrunk.ini" or dst.endswith(".ini"):
                p = os.path.normpath(os.path.join(os.path.dirname(f), src))
                if not os.path.exists(p):
                    bad("%s: volume %s does not exist" % (rel, src))
                else:
                    nini += 1
                    with open(os.path.join(out, "compose%d.ini" % nini), "w") as o:
                        o.write(read(p))
        hc = svc.get("healthcheck")
        if hc and "/healthz" not in json.dumps(hc) and "healthcheck" not in json.dumps(hc):
            bad("%s: the healthcheck does not check /healthz" % rel)
    if compose and nini == 0:
        bad("compose: no tlstrunk .ini mounted from the repository")
    done("%d YAML files, %d documents; pod: %s; probes /healthz on :%s; grace %ss > drain %ds; "
         "%d compose configuration(s)" % (len(files), sum(len(v) for v in docs.values()),
                                          " + ".join(c["name"] for c in ctrs), aport, grace, drain, nini))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"docs": cmd_docs, "render": cmd_render, "docker": cmd_docker, "stage": cmd_stage,
     "deploy": cmd_deploy}[cmd](*args)
PYEOF

# pk CMD ARGS...: run a checker command; its problems fail the test.
pk() {
	local what=$1 out rc=0; shift
	out=$("$PY" "$WORK/pk.py" "$@" 2>&1) || rc=$?
	[ "$rc" = 0 ] || fail "$what:
$out"
	RESULTS+=("${out%%;*}")
	log "$what: $out"
}

# check_t LABEL FILE: `tlstrunk -t -c FILE` must pass.
check_t() {
	local out rc=0
	out=$("$TLSTRUNK_BIN" -t -c "$2" 2>&1) || rc=$?
	[ "$rc" = 0 ] || fail "$1: tlstrunk -t -c $2 exited $rc: $out"
}

# Roots for the rendered copies: the defaults when ca-certificates has them.
CA_OVERRIDE=
ls /etc/ssl/certs/DigiCert_Global_Root_G2.pem >/dev/null 2>&1 || CA_OVERRIDE=$PKI/ca.pem

# --- docs ----------------------------------------------------------------------------------
"$TLSTRUNK_BIN" --help >"$WORK/help.txt" 2>"$WORK/help.err" || fail "tlstrunk --help exited non-zero: $(cat "$WORK/help.err")"
[ ! -s "$WORK/help.err" ] || fail "tlstrunk --help wrote to stderr: $(cat "$WORK/help.err")"
for opt in ' -c FILE' ' -t ' ' doctor ' '--version' '--help' SIGHUP SIGTERM SIGINT; do
	grep -qF -- "$opt" "$WORK/help.txt" || fail "tlstrunk --help does not mention '$opt'"
done
"$TLSTRUNK_BIN" --version | grep -Eq '^tlstrunk [0-9]+\.[0-9]+' || fail "tlstrunk --version: $("$TLSTRUNK_BIN" --version 2>&1)"
rc=0; "$TLSTRUNK_BIN" --frobnicate >/dev/null 2>"$WORK/usage.err" || rc=$?
if [ "$rc" != 2 ] || ! grep -q 'usage:' "$WORK/usage.err"; then
	fail "an unknown option: exit $rc, expected 2 with the usage"
fi
CONTRACT=$REPO/../shared/spec/config-contract.md
[ -f "$CONTRACT" ] || log "no $CONTRACT: contract keys not checked"
pk docs docs "$REPO" "$WORK/help.txt" "$CONTRACT"

# The example as shipped: only its certificate is missing here.
rc=0
out=$("$TLSTRUNK_BIN" -t -c "$REPO/config/tlstrunk.ini.example" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "tlstrunk -t on the example exited $rc, expected 1 (no certificate here): $out"
grep -q '\[tls_server\] cert_file: cannot open' <<<"$out" ||
	fail "tlstrunk -t on the example should fail on the missing cert_file only, got: $out"
"$PY" "$WORK/pk.py" render "$REPO/config/tlstrunk.ini.example" "$WORK/example.ini" "$PKI" "$SBC_NAME" "$CA_OVERRIDE"
check_t "the example with the test PKI" "$WORK/example.ini"
RESULTS+=("example -t ok with the test PKI")

# --- docker ----------------------------------------------------------------------------------
STAGE=$WORK/docker-build
mkdir -p "$STAGE"
"$PY" "$WORK/pk.py" stage "$REPO" "$STAGE" >"$WORK/stage.txt" 2>&1 || fail "staging the build stage: $(cat "$WORK/stage.txt")"
log "running the build stage's commands: $(tr '\n' ' ' <"$WORK/stage.txt")"
(cd "$STAGE" && bash build.sh) >"$WORK/docker-build.log" 2>&1 ||
	fail "the Dockerfile's build stage fails on what it COPYs: $(tail -20 "$WORK/docker-build.log")"
[ -x "$STAGE/build/tlstrunk" ] || fail "the build stage made no build/tlstrunk"
pk docker docker "$REPO" "$STAGE" "$WORK/help.txt"
if command -v hadolint >/dev/null 2>&1; then
	hadolint "$REPO/Dockerfile" >"$WORK/hadolint.log" 2>&1 || fail "hadolint: $(cat "$WORK/hadolint.log")"
	RESULTS+=("hadolint: clean")
fi
for f in "$REPO"/deploy/docker/*.sh; do
	bash -n "$f" || fail "bash -n $f"
	if command -v shellcheck >/dev/null 2>&1; then
		shellcheck "$f" >"$WORK/shellcheck.log" 2>&1 || fail "shellcheck $f: $(cat "$WORK/shellcheck.log")"
	fi
done

# --- systemd -------------------------------------------------------------------------------
UNIT=$REPO/deploy/systemd/tlstrunk.service
# shellcheck disable=SC2016  # $MAINPID is literal
for want in '^ExecReload=/bin/kill -HUP \$MAINPID' '^ProtectSystem=strict' '^CapabilityBoundingSet=$' \
	'^(DynamicUser=yes|User=)' '^NoNewPrivileges=yes'; do
	grep -Eq "$want" "$UNIT" || fail "$UNIT: no line matching /$want/"
done
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$UNIT")
drain=$(sed -n 's/^  \[cloud\] drain_timeout = //p' "$WORK/help.txt")
if [ -z "$stop" ] || [ "$stop" -le "$drain" ]; then
	fail "$UNIT: TimeoutStopSec=$stop is not above drain_timeout $drain"
fi

# systemd-analyze with /usr/local/bin/tlstrunk being this build: on a tmpfs
# in a private mount namespace when possible (nothing to clean up), else a
# copy that is removed again.
analyze() {
	if unshare -m true 2>/dev/null; then
		# shellcheck disable=SC2016
		unshare -m sh -c 'mount -t tmpfs tmpfs /usr/local/bin && cp "$0" /usr/local/bin/tlstrunk && exec "$@"' \
			"$STAGE/build/tlstrunk" systemd-analyze "$@"
	elif [ -e /usr/local/bin/tlstrunk ]; then
		systemd-analyze "$@"
	else
		local rc=0
		install -m 755 "$STAGE/build/tlstrunk" /usr/local/bin/tlstrunk
		systemd-analyze "$@" || rc=$?
		rm -f /usr/local/bin/tlstrunk
		return "$rc"
	fi
}
rc=0
analyze verify "$UNIT" >"$WORK/verify.log" 2>&1 || rc=$?
if [ "$rc" != 0 ] || [ -s "$WORK/verify.log" ]; then
	fail "systemd-analyze verify (exit $rc): $(cat "$WORK/verify.log")"
fi
rc=0
analyze security --offline=yes --threshold=20 "$UNIT" >"$WORK/security.log" 2>&1 || rc=$?
level=$(grep -o 'Overall exposure level for [^:]*: [0-9.]* [A-Z]*' "$WORK/security.log" | sed 's/.*: //')
[ "$rc" = 0 ] || fail "systemd-analyze security: exposure above 2.0 (exit $rc): $level"
RESULTS+=("systemd: verify clean, exposure $level")

# --- Kubernetes and compose ------------------------------------------------------------------
mkdir -p "$WORK/deploy"
pk deploy deploy "$REPO" "$WORK/deploy" "$WORK/help.txt"
n=0
for ini in "$WORK"/deploy/*.ini; do
	"$PY" "$WORK/pk.py" render "$ini" "$ini.pki" "$PKI" "$SBC_NAME" "$CA_OVERRIDE"
	check_t "$(basename "$ini") (shipped in deploy/)" "$ini.pki"
	n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "expected the Kubernetes and the compose configurations, checked $n"
RESULTS+=("$n deploy configs -t ok")
if command -v kubectl >/dev/null 2>&1 && timeout 30 kubectl kustomize --help >/dev/null 2>&1; then
	timeout 30 kubectl kustomize "$REPO/deploy/kubernetes" >"$WORK/kustomize.yaml" 2>&1 ||
		fail "kubectl kustomize deploy/kubernetes: $(head -5 "$WORK/kustomize.yaml")"
	RESULTS+=("kustomize ok")
fi

# --- health check and certificate reload against a running tlstrunk -------------------
HC=$REPO/deploy/docker/healthcheck.sh
CW=$REPO/deploy/docker/certwatch.sh

# A Secret volume as the kubelet lays it out.
SECRET=$WORK/secret
mkdir -p "$SECRET/..2001_01_01_00_00_00.1"
cp "$PKI/sbc.pem" "$SECRET/..2001_01_01_00_00_00.1/tls.crt"
cp "$PKI/sbc.key" "$SECRET/..2001_01_01_00_00_00.1/tls.key"
ln -s ..2001_01_01_00_00_00.1 "$SECRET/..data"
ln -s ..data/tls.crt "$SECRET/tls.crt"
ln -s ..data/tls.key "$SECRET/tls.key"

cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
sed -i -e "s|^admin_listen =.*|admin_listen = 127.0.0.1:$ADMIN_PORT|" \
	-e "s|^cert_file = .*|cert_file = $SECRET/tls.crt|" \
	-e "s|^key_file = .*|key_file = $SECRET/tls.key|" \
	-e '/^\[cloud\]/a options_interval = 1\noptions_interval_down = 1' "$cfg"
require_free_port tcp 127.0.0.1 "$ADMIN_PORT"

# health TAG: run the health check as the image does (admin_listen from
# the configuration); HC_RC, HC_OUT.
health() {
	HC_RC=0
	HC_OUT=$(TLSTRUNK_CONFIG=$cfg timeout 20 "$HC" 2>&1) || HC_RC=$?
	echo "$1: rc=$HC_RC $HC_OUT" >>"$WORK/healthcheck.log"
}

# wait_health WANT_RC SECONDS TAG
wait_health() {
	local want=$1 secs=$2 _
	for _ in $(seq 1 $((secs * 2))); do
		health "$3"
		[ "$HC_RC" = "$want" ] && return 0
		sleep 0.5
	done
	return 1
}

start_kamailio cloud
start_tlstrunk "$cfg"
wait_health 0 20 up || fail "health check with the cloud up: rc=$HC_RC, $HC_OUT (want 0)"
grep -q ' 200 ' <<<"$HC_OUT" || fail "health check passed without a 200: $HC_OUT"
log "healthcheck, cloud up: 0 ($HC_OUT)"

# Certificate renewal the kubelet way: a new directory, ..data swapped.
spawn "$WORK/certwatch.log" env TLSTRUNK_CERT_DIR="$SECRET" TLSTRUNK_CERTWATCH_INTERVAL=1 "$CW" "$TLSTRUNK_PID"
wait_grep "$WORK/certwatch.log" 'watching' 5 || fail "certwatch did not start: $(cat "$WORK/certwatch.log")"
sleep 1.2
mkdir "$SECRET/..2001_01_02_00_00_00.2"
cp "$PKI/sbc-leaf.pem" "$SECRET/..2001_01_02_00_00_00.2/tls.crt"
cp "$PKI/sbc.key" "$SECRET/..2001_01_02_00_00_00.2/tls.key"
ln -s ..2001_01_02_00_00_00.2 "$SECRET/..data_tmp"
mv -T "$SECRET/..data_tmp" "$SECRET/..data"
rm -rf "$SECRET/..2001_01_01_00_00_00.1"
wait_grep "$WORK/certwatch.log" 'SIGHUP sent to 1 process' 10 ||
	fail "certwatch sent no SIGHUP after the ..data swap: $(cat "$WORK/certwatch.log")"
wait_grep "$TLSTRUNK_LOG" 'SIGHUP: TLS certificates, keys and CAs reloaded' 5 ||
	fail "tlstrunk did not reload on certwatch's SIGHUP: $(grep -aiE 'reload|SIGHUP' "$TLSTRUNK_LOG" | tail -3)"
own=no
grep -aq 'certificate files changed: TLS certificates' "$TLSTRUNK_LOG" && own=yes
log "tlstrunk's own certificate watcher saw the ..data swap: $own"
RESULTS+=("certwatch: ..data swap -> SIGHUP -> reload")

# Cloud gone: 503 and the reason.
stop_kamailio
wait_health 1 20 down || fail "health check with the cloud down: rc=$HC_RC, $HC_OUT (want 1)"
grep -q ' 503 ' <<<"$HC_OUT" || fail "health check with the cloud down: no 503 in '$HC_OUT'"
log "healthcheck, cloud down: 1 ($HC_OUT)"
stop_tlstrunk || fail "tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
health stopped
[ "$HC_RC" = 1 ] || fail "health check with tlstrunk stopped: rc=$HC_RC ($HC_OUT), want 1"
off=$WORK/admin-off.ini
sed "s|^admin_listen =.*|admin_listen =|" "$cfg" >"$off"
rc=0; out=$(TLSTRUNK_CONFIG=$off "$HC" 2>&1) || rc=$?
if [ "$rc" != 1 ] || ! grep -q 'off' <<<"$out"; then
	fail "health check with admin_listen off: rc=$rc, $out"
fi
RESULTS+=("healthcheck: 200 up, 503 cloud down, 1 stopped/off")


summary=$(printf '%s; ' "${RESULTS[@]}")
pass "${summary%; }"
