#!/bin/sh
# The manual pages in docs/man: clean under `mandoc -Tlint`, and in step
# with the program they describe. Usage: scripts/check-man.sh [PROGRAM]
# (default build/src/infrakit-instance-vmware-fusion). Fails when:
#   - mandoc reports anything at all (style level included), except the
#     two kinds of message below that depend on the machine, not the pages;
#   - a flag of `serve --help` is not an entry of the .8 page, or an entry
#     there is not in `serve --help`;
#   - a verb or flag of `--help` is not in the .1 page, or a flag of the .1
#     page is refused by the program (exit 2);
#   - an .Xr to one of our own pages names a page that does not exist.
set -u
cd "$(dirname "$0")/.."
prog=${1:-build/src/infrakit-instance-vmware-fusion}
pages="docs/man/infrakit-instance-vmware-fusion.1 docs/man/infrakit-instance-vmware-fusion.8"

command -v mandoc >/dev/null 2>&1 || {
    echo "check-man: mandoc is not installed (scripts/deps.sh test installs it)" >&2
    exit 1
}
[ -x "$prog" ] || {
    echo "check-man: $prog is not built" >&2
    exit 1
}

# Ignored, because they say nothing about the pages themselves:
#   "referenced manual not found": mandoc looks every .Xr up in this
#     machine's installed manuals, so journalctl(1) or qemu-system-x86_64(1)
#     are found or not depending on the packages installed, launchd.plist(5)
#     never is on Linux, and our own pages are not until they are installed.
#     The references between our own pages are checked below instead.
#   "outdated mandoc.db lacks ...": about the system's manual database, which
#     Debian's man-db does not keep up to date for mandoc; it names no page
#     of ours.
lint=$(mandoc -Tlint $pages 2>&1 |
    grep -v -e 'STYLE: referenced manual not found: Xr ' \
        -e '^mandoc: outdated mandoc.db lacks ')
rc=0
if [ -n "$lint" ]; then
    echo "mandoc -Tlint:"
    printf '%s\n' "$lint"
    rc=1
fi

python3 - "$prog" $pages <<'PY' || rc=1
import os, re, shutil, subprocess, sys, tempfile

prog, page1, page8 = sys.argv[1], sys.argv[2], sys.argv[3]
bad = []
# No plugin there: client verbs fail to connect.
nowhere = tempfile.TemporaryDirectory(prefix="ikvf-man-")

def run(*args):
    env = dict(os.environ, INFRAKIT_PLUGINS_DIR=nowhere.name)
    env.pop("INFRAKIT_HOME", None)
    p = subprocess.run([prog] + list(args), capture_output=True, text=True,
                       env=env, timeout=30)
    return p.returncode, p.stdout + p.stderr

def entries(path):
    """Flags of the page's .It Fl entries: '--name' or '-q'."""
    out = set()
    for line in open(path):
        if line.startswith(".It Fl "):
            # ".It Fl h , Fl -help" names two.
            for m in re.finditer(r"Fl (-?[A-Za-z][A-Za-z-]*)", line):
                out.add("-" + m.group(1))
    return out

def help_flags(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", text))

# serve: `serve --help` lists every flag, one per line ("  --name NAME ...").
rc, serve_help = run("serve", "--help")
if rc != 0:
    bad.append("serve --help exited %d" % rc)
listed = {re.match(r"\s*(-[-a-z]+)", l).group(1)
          for l in serve_help.splitlines() if re.match(r"\s{2}-", l)}
in8 = entries(page8)
for f in sorted(listed - in8):
    bad.append("%s: serve flag %s (in serve --help) has no entry" % (page8, f))
for f in sorted(in8 - listed - {"-h", "--help"}):
    bad.append("%s: entry %s is not in serve --help" % (page8, f))
syn8 = set(re.findall(r"^\.Op Fl (-[a-z-]+)", open(page8).read(), re.M))
for f in sorted(listed - {"--" + s.lstrip("-") for s in syn8}):
    bad.append("%s: serve flag %s is not in the SYNOPSIS" % (page8, f))

# The client: the verbs and flags of the usage text.
rc, usage = run("--help")
if rc != 0:
    bad.append("--help exited %d" % rc)
usage = usage.split("serve flags")[0]
verbs = set(re.findall(r"^(?:usage:)?\s+\S*infrakit-instance-vmware-fusion ([a-z]+)",
                       usage, re.M))
text1 = open(page1).read()
man_verbs = set(re.findall(r"^\.It Cm ([a-z]+)", text1, re.M))
for v in sorted(verbs - man_verbs):
    bad.append("%s: verb %s (in --help) has no entry" % (page1, v))
for v in sorted(man_verbs - verbs):
    bad.append("%s: verb %s is not in --help" % (page1, v))
in1 = entries(page1)
for f in sorted(help_flags(usage) - in1):
    bad.append("%s: flag %s (in --help) has no entry" % (page1, f))
# Every flag the page documents must be accepted by a verb whose --help
# lists it: with no plugin running, a known flag ends in "cannot reach the
# plugin" (3; or 1, provision's missing file) for some number of operands,
# an unknown one in a usage error (2).
takes = set(re.findall(r"^\.It Fl (-[a-z-]+) Ar ", text1, re.M))
# Flags that need others with them: the TLS ones need a tcps:// address
# (loopback port 1: nothing answers), --tls-cert and --tls-key each other,
# and files that load (they are checked before connecting): a throwaway
# self-signed certificate (scripts/deps.sh test installs openssl).
pem = lambda n: os.path.join(nowhere.name, n)
gen = subprocess.run(["openssl" if shutil.which("openssl") else "false", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", pem("k.pem"),
                      "-out", pem("c.pem"), "-subj", "/CN=check-man", "-days", "1"],
                     capture_output=True, text=True)
if gen.returncode != 0:
    bad.append("openssl req (a certificate for the TLS flags): %s" % (
        gen.stderr.strip() or "openssl is not installed (scripts/deps.sh test installs it)"))
tls_to = ["--host", "tcps://127.0.0.1:1"]
with_them = {"--host": ["tcp://127.0.0.1:1"], "--tls-ca": [pem("c.pem")] + tls_to,
             "--tls-cert": [pem("c.pem"), "--tls-key", pem("k.pem")] + tls_to,
             "--tls-key": [pem("k.pem"), "--tls-cert", pem("c.pem")] + tls_to}
# Verbs with sub-verbs (group, attachment) take their flags after those.
verb_help = {v: run(v, "--help")[1] for v in sorted(verbs - {"group", "version", "attachment"})}
for f in sorted(in1):
    if f in ("--help", "-h"):
        continue
    owner = [v for v, h in verb_help.items() if f in help_flags(h)]
    if not owner:
        bad.append("%s: flag %s is in no verb's --help" % (page1, f))
        continue
    args = [owner[0], f]
    if f in with_them:
        args += with_them[f]
    elif f.lstrip("-") in {t.lstrip("-") for t in takes}:
        args.append({"--tags": "k=v", "--listen": "/nonexistent/sock",
                     "--timeout": "1s", "--identity": "/k", "-i": "/k"}.get(f, "x"))
    results = [run(*(args + ["i-x", "k=v"][:n])) for n in range(3)]
    if not any(rc in (1, 3) for rc, _ in results):
        rc, out = results[0]
        bad.append("%s: %s exited %d, not 3: %s" % (page1, " ".join(args), rc,
                                                    out.strip()[:200]))

# Cross-references to our own pages must name a page we have.
for page in (page1, page8):
    for name, sec in re.findall(r"^\.Xr (infrakit-\S+) (\d)", open(page).read(), re.M):
        if not os.path.exists(os.path.join(os.path.dirname(page), "%s.%s" % (name, sec))):
            bad.append("%s: .Xr %s %s: no such page" % (page, name, sec))

for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
exit $rc
