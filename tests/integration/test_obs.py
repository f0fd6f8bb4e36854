#!/usr/bin/env python3
"""Observability (issue 14) with the test backend: GET /metrics checked by a
strict parser of Prometheus' text exposition format 0.0.4 (and by promtool
when a package put it on PATH), its counters moving exactly as a scripted
run of Provision, Destroy, a failing backend operation and a group commit
says they should; --log-format json (every line an object, one request ID
from the RPC line to the background lines of the same provision); and the
audit log of destroys (RPC with Context.Reason, the group controller
scaling down, the CLI), kept across a restart. One plugin per class; no
real VM: seconds."""

import http.client
import json
import math
import os
import re
import shutil
import socket
import ssl
import subprocess
import unittest

import harness
import test_tls

G = "infrakit.group"

# ---- a strict parser of the text exposition format 0.0.4 ------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
FLOAT = re.compile(r"^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$")
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (\S+)$" % NAME)
SAMPLE_RE = re.compile(r"^(%s)(\{.*\})? (\S+)(?: (-?\d+))?$" % NAME)


class PromError(AssertionError):
    pass


def parse_labels(text, where):
    """'{a="x",b="y\\n"}' -> {"a": "x", "b": "y\\n"}; only \\\\ \\" \\n escapes."""
    labels, i, n = {}, 1, len(text)
    if text[-1] != "}":
        raise PromError("%s: labels not closed" % where)
    while i < n - 1:
        m = re.compile(LABEL).match(text, i)
        if not m or text[m.end():m.end() + 2] != '="':
            raise PromError("%s: bad label at %r" % (where, text[i:]))
        name = m.group(0)
        if name.startswith("__"):
            raise PromError("%s: reserved label name %s" % (where, name))
        i, val = m.end() + 2, []
        while True:
            if i >= n - 1:
                raise PromError("%s: label value not closed" % where)
            ch = text[i]
            if ch == "\\":
                esc = text[i + 1]
                if esc not in '\\"n':
                    raise PromError("%s: bad escape \\%s" % (where, esc))
                val.append("\n" if esc == "n" else esc)
                i += 2
            elif ch == '"':
                i += 1
                break
            elif ch == "\n":
                raise PromError("%s: raw newline in a label value" % where)
            else:
                val.append(ch)
                i += 1
        if name in labels:
            raise PromError("%s: label %s twice" % (where, name))
        labels[name] = "".join(val)
        if text[i] == ",":
            i += 1
        elif i != n - 1:
            raise PromError("%s: expected , or } at %r" % (where, text[i:]))
    return labels


def family_of(sample, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix) and types.get(sample[:-len(suffix)]) in (
                "histogram", "summary"):
            return sample[:-len(suffix)], suffix
    return sample, ""


def parse(text):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}},
    raising PromError on anything outside the format or our conventions:
    every family has one HELP and one TYPE before its samples, its samples
    are together, no series twice, counters end in _total and never go
    negative, histograms have ascending cumulative buckets ending in +Inf
    that equals _count, and a _sum."""
    if not text.endswith("\n"):
        raise PromError("the text does not end in a newline")
    fams, types, done, cur = {}, {}, set(), None
    series = set()
    for no, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (no, line)
        if line == "" or line != line.strip():
            raise PromError("%s: empty, or white space around it" % where)
        if line.startswith("#"):
            m = HELP_RE.match(line) or TYPE_RE.match(line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise PromError("%s: malformed" % where)
                continue  # a comment
            name = m.group(1)
            f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
            if name in done or (cur is not None and cur != name and f["samples"]):
                raise PromError("%s: family %s again" % (where, name))
            if cur is not None and cur != name:
                done.add(cur)
            cur = name
            if f["samples"]:
                raise PromError("%s: HELP/TYPE after samples" % where)
            if line.startswith("# HELP"):
                if f["help"] is not None:
                    raise PromError("%s: second HELP" % where)
                help_ = m.group(2)
                if re.search(r"\\[^\\n]", help_.replace("\\\\", "")):
                    raise PromError("%s: bad escape in HELP" % where)
                f["help"] = help_
            else:
                if f["type"] is not None:
                    raise PromError("%s: second TYPE" % where)
                if m.group(2) not in TYPES:
                    raise PromError("%s: unknown type" % where)
                f["type"] = types[name] = m.group(2)
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise PromError("%s: not a sample" % where)
        sname, ltext, value = m.group(1), m.group(2), m.group(3)
        if not FLOAT.match(value):
            raise PromError("%s: bad value %r" % (where, value))
        labels = parse_labels(ltext, where) if ltext else {}
        fname, suffix = family_of(sname, types)
        if fname != cur:
            raise PromError("%s: sample of %s outside its family (%s)" % (where, fname, cur))
        key = (sname, tuple(sorted(labels.items())))
        if key in series:
            raise PromError("%s: series twice" % where)
        series.add(key)
        fams[fname]["samples"].append((sname, labels, float(value)))
    for name, f in fams.items():
        check_family(name, f)
    return fams


def check_family(name, f):
    if f["type"] is None or f["help"] is None:
        raise PromError("%s: needs both HELP and TYPE" % name)
    t, samples = f["type"], f["samples"]
    if t == "counter":
        if not name.endswith("_total"):
            raise PromError("counter %s does not end in _total" % name)
        for s, _, v in samples:
            if v < 0 or math.isnan(v):
                raise PromError("counter %s: %s" % (s, v))
    elif t == "gauge":
        pass
    elif t == "histogram":
        check_histogram(name, samples)
    for s, labels, _ in samples:
        if t != "histogram" and s != name:
            raise PromError("%s: sample %s" % (name, s))
        if "le" in labels and t != "histogram":
            raise PromError("%s: le outside a histogram" % name)


def check_histogram(name, samples):
    groups = {}
    for s, labels, v in samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if s == name + "_bucket":
            if "le" not in labels:
                raise PromError("%s: bucket without le" % name)
            le = float(labels["le"]) if labels["le"] != "+Inf" else math.inf
            g["buckets"].append((le, v))
        elif s == name + "_sum":
            g["sum"] = v
        elif s == name + "_count":
            g["count"] = v
        else:
            raise PromError("%s: sample %s" % (name, s))
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise PromError("%s%s: no +Inf bucket last" % (name, rest))
        if g["sum"] is None or g["count"] is None:
            raise PromError("%s%s: _sum or _count missing" % (name, rest))
        for (le0, v0), (le1, v1) in zip(b, b[1:]):
            if not le0 < le1:
                raise PromError("%s%s: le not ascending" % (name, rest))
            if v1 < v0:
                raise PromError("%s%s: buckets not cumulative" % (name, rest))
        if b[-1][1] != g["count"]:
            raise PromError("%s%s: +Inf %s != count %s" % (name, rest, b[-1][1], g["count"]))
        if g["sum"] < 0:
            raise PromError("%s%s: negative sum" % (name, rest))


def value(fams, name, default=0.0, **labels):
    """The value of the one sample of family name (or name_count for a
    histogram) with exactly these labels (a histogram's le aside)."""
    f = fams.get(name)
    if f is None:
        return default
    want = name + "_count" if f["type"] == "histogram" else name
    for s, l, v in f["samples"]:
        if s == want and l == labels:
            return v
    return default


class Parser(unittest.TestCase):
    """The parser itself refuses what it must (else its passing means
    nothing)."""

    GOOD = ('# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 1\n'
            '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'
            'h_sum 0.5\nh_count 2\n')

    def test_good(self):
        f = parse(self.GOOD)
        self.assertEqual(f["a_total"]["samples"][0][1], {"x": 'q"\\\n'})
        self.assertEqual(value(f, "h"), 2)

    def test_bad(self):
        bad = {
            "no help": "# TYPE a_total counter\na_total 1\n",
            "counter name": "# HELP a A.\n# TYPE a counter\na 1\n",
            "escape": '# HELP a_total A.\n# TYPE a_total counter\na_total{x="\\t"} 1\n',
            "value": "# HELP g G.\n# TYPE g gauge\ng one\n",
            "split family": "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP k K.\n# TYPE k gauge\n"
                            "k 1\ng{a=\"b\"} 2\n",
            "duplicate": "# HELP g G.\n# TYPE g gauge\ng 1\ng 2\n",
            "no newline": "# HELP g G.\n# TYPE g gauge\ng 1",
            "+Inf != count": self.GOOD.replace("h_count 2", "h_count 3"),
            "not cumulative": self.GOOD.replace('le="1"} 1', 'le="1"} 3'),
            "no +Inf": self.GOOD.replace('h_bucket{le="+Inf"} 2\n', ""),
            "no sum": self.GOOD.replace("h_sum 0.5\n", ""),
            "label name": '# HELP g G.\n# TYPE g gauge\ng{1a="b"} 1\n',
        }
        for why, text in bad.items():
            with self.subTest(why=why):
                self.assertRaises(PromError, parse, text)


def scrape(client):
    status, text = client.get("/metrics")
    assert status == 200, (status, text)
    ctype = client.last_ctype
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    fams = parse(text)
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                           capture_output=True, timeout=60)
        # promtool's lint: only real problems, not its naming opinions.
        assert p.returncode == 0 or "error" not in (p.stdout + p.stderr).lower(), \
            p.stdout + p.stderr
    return fams


class MetricsClient(harness.Client):
    def get(self, path):
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        self.last_ctype = r.getheader("Content-Type", "")
        # Kept alive, like a POST: a scraper reuses its connection.
        assert r.getheader("Connection", "").lower() != "close", r.getheaders()
        return r.status, r.read().decode()


def metrics_client(p):
    c = MetricsClient.__new__(MetricsClient)
    c.conn = harness.UnixHTTPConnection(p.socket, timeout=30)
    return c


def spec(gid, size):
    return {"ID": gid, "Properties": {
        "Allocation": {"Size": size},
        "Instance": {"Plugin": "vmware-fusion", "Properties": {"VMX": "alpine"}},
        "Flavor": {"Plugin": "vanilla", "Properties": {"Init": ["echo v1"],
                                                       "Tags": {"tier": "web"}}}}}


def audit_lines(p):
    try:
        with open(os.path.join(p.vm_dir, "audit.log")) as f:
            return [json.loads(l) for l in f.read().splitlines()]
    except FileNotFoundError:
        return []


class Observability(harness.PluginTest):
    plugin_args = ("--log-format", "json", "--listen", "tcp://127.0.0.1:0",
                   "--stop-timeout", "1s")

    def setUp(self):
        super().setUp()
        self.m = metrics_client(self.p)

    def tearDown(self):
        self.m.close()
        super().tearDown()

    def running(self, iid):
        return os.path.exists(os.path.join(self.p.bundle(iid), "running"))

    def gone(self, iid):
        return not os.path.exists(os.path.join(self.p.vm_dir, iid))

    def delta(self, a, b, name, **labels):
        return value(b, name, **labels) - value(a, name, **labels)

    def test_counters_follow_a_scripted_run(self):
        ok = {"outcome": "ok"}
        self.c.call("Handshake.Implements")
        # self.c and self.m (the start-up probe's may take a moment to be
        # seen closed).
        harness.wait_until(lambda: value(scrape(self.m), "ikvf_http_connections",
                                         listener="unix") == 2, what="2 connections")
        m0 = scrape(self.m)
        self.assertGreater(value(m0, "process_start_time_seconds"), 1.5e9)
        # Provision.
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "obs"})["ID"]
        harness.wait_until(lambda: self.running(iid), what="running")
        harness.wait_until(lambda: value(scrape(self.m), "ikvf_instances", state="running") == 1,
                           what="counted running")
        m1 = scrape(self.m)
        self.assertEqual(self.delta(m0, m1, "ikvf_rpc_requests_total",
                                    method="Instance.Provision", **ok), 1)
        self.assertEqual(self.delta(m0, m1, "ikvf_rpc_duration_seconds",
                                    method="Instance.Provision"), 1)
        for op in ("create", "start"):
            self.assertEqual(self.delta(m0, m1, "ikvf_backend_ops_total", op=op, **ok), 1, op)
            self.assertEqual(self.delta(m0, m1, "ikvf_backend_op_duration_seconds", op=op), 1)
        self.assertEqual(self.delta(m0, m1, "ikvf_jobs_total", kind="create", **ok), 1)
        self.assertGreaterEqual(self.delta(m0, m1, "ikvf_journal_flushes_total",
                                           kind="append", **ok), 1)
        self.assertGreater(self.delta(m0, m1, "ikvf_journal_written_bytes_total"), 0)
        self.assertGreaterEqual(self.delta(m0, m1, "ikvf_journal_fsync_duration_seconds"), 1)
        # Destroy.
        self.c.destroy(iid, reason="terminate")
        harness.wait_until(lambda: self.gone(iid), what="destroyed")
        harness.wait_until(lambda: value(scrape(self.m), "ikvf_audit_lines_total",
                                         outcome="destroyed") == 1, what="destroyed line")
        m2 = scrape(self.m)
        self.assertEqual(self.delta(m1, m2, "ikvf_rpc_requests_total",
                                    method="Instance.Destroy", **ok), 1)
        self.assertEqual(self.delta(m1, m2, "ikvf_backend_ops_total", op="remove", **ok), 1)
        self.assertEqual(self.delta(m1, m2, "ikvf_jobs_total", kind="destroy", **ok), 1)
        self.assertEqual(self.delta(m1, m2, "ikvf_audit_lines_total", outcome="requested"), 1)
        self.assertEqual(sum(v for _, _, v in m2["ikvf_instances"]["samples"]), 0)
        # A failing backend operation: create refused by the hypervisor.
        self.p.ctl_set("fail", "create", "injected")
        bad = self.c.provision({"VMX": "alpine"}, tags={G: "bad"})["ID"]
        harness.wait_until(lambda: value(scrape(self.m), "ikvf_instances", state="failed") == 1,
                           what="failed")
        self.p.ctl_clear("fail", "create")
        m3 = scrape(self.m)
        self.assertEqual(self.delta(m2, m3, "ikvf_backend_ops_total", op="create",
                                    outcome="backend"), 1)
        self.assertEqual(self.delta(m2, m3, "ikvf_backend_ops_total", op="create", **ok), 0)
        self.assertEqual(self.delta(m2, m3, "ikvf_backend_ops_total", op="start", **ok), 0)
        self.assertEqual(self.delta(m2, m3, "ikvf_jobs_total", kind="create",
                                     outcome="backend"), 1)
        # The RPC itself was fine: the failure is the background's.
        self.assertEqual(self.delta(m2, m3, "ikvf_rpc_requests_total",
                                    method="Instance.Provision", **ok), 1)
        # An RPC error is counted by its kind.
        e = self.c.call("Instance.Nope", {}, want_error=True)
        self.assertIn("code", e)
        m4 = scrape(self.m)
        self.assertEqual(self.delta(m3, m4, "ikvf_rpc_requests_total", method="other",
                                    outcome="method"), 1)
        # A group commit of 2 members, then down to 1.
        self.c.call("Group.CommitGroup", {"Spec": spec("web", 2), "Pretend": False})
        harness.wait_until(lambda: len(self.c.ids({G: "web"})) == 2, what="2 members")
        jobs4 = value(m4, "ikvf_jobs_total", kind="create", **ok)

        def created():
            m = scrape(self.m)
            return (value(m, "ikvf_group_actions_total", action="create", **ok) == 2
                    and value(m, "ikvf_jobs_total", kind="create", **ok) == jobs4 + 2)
        harness.wait_until(created, what="2 creates counted")
        m5 = scrape(self.m)
        self.assertEqual(self.delta(m4, m5, "ikvf_group_commits_total", **ok), 1)
        self.assertEqual(self.delta(m4, m5, "ikvf_rpc_requests_total",
                                    method="Group.CommitGroup", **ok), 1)
        self.assertEqual(value(m5, "ikvf_groups"), 1)
        self.assertEqual(self.delta(m4, m5, "ikvf_group_actions_total", action="destroy", **ok), 0)
        self.assertEqual(self.delta(m4, m5, "ikvf_jobs_total", kind="create", **ok), 2)
        self.c.call("Group.CommitGroup", {"Spec": spec("web", 1), "Pretend": True})
        m6 = scrape(self.m)
        self.assertEqual(self.delta(m5, m6, "ikvf_group_commits_total", outcome="pretend"), 1)
        self.assertEqual(self.delta(m5, m6, "ikvf_group_commits_total", **ok), 0)
        # The same text on the TCP listener (a scraper sends no
        # Content-Type).
        with open(os.path.join(self.p.plugins, self.p.name + ".listen")) as f:
            port = int(f.read().rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        fams = parse(body.decode())
        self.assertEqual(value(fams, "ikvf_http_connections", listener="tcp"), 1)
        self.assertEqual(value(fams, "ikvf_groups"), 1)
        self.assertIsNotNone(bad)

    def test_json_log_follows_one_request(self):
        # Bytes a client chose (logged at --log 5) cannot break a line.
        status, _, _ = self.c.post_raw(b'{"jsonrpc":"2.0","method":"A\xff\x01\n\\"}\r\n\x1b[2J')
        self.assertEqual(status, 200)
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "log"})["ID"]
        harness.wait_until(lambda: self.running(iid), what="running")
        harness.wait_until(lambda: "create job: done" in self.p.log() and
                           "instance %s: running" % iid in self.p.log(),
                           what="the worker's and the owner's lines")
        lines = []
        log = self.p.log()
        self.assertIn("\\u001b[2J", log)
        self.assertNotIn("\ufffd", log)  # no raw invalid UTF-8
        for no, text in enumerate(log.split("\n")[:-1], 1):
            try:
                o = json.loads(text)
            except ValueError:
                self.fail("line %d is not JSON: %r" % (no, text))
            self.assertIsInstance(o, dict, text)
            self.assertRegex(o.get("time", ""), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(o.get("level"), ("fatal", "error", "warning", "info", "debug"), text)
            self.assertIsInstance(o.get("msg"), str, text)
            lines.append(o)
        rpc = [o for o in lines if o.get("method") == "Instance.Provision"
               and o["msg"].startswith("Instance.Provision: ok")]
        self.assertEqual(len(rpc), 1, lines)
        rid = rpc[0]["request_id"]
        self.assertRegex(rid, r"^[0-9a-z]+-\d+$")
        mine = [o for o in lines if o.get("request_id") == rid]
        msgs = [o["msg"] for o in mine]
        # The service's owner and the worker, in the instance's name.
        self.assertIn("instance %s: running" % iid, msgs)
        self.assertTrue(any(m.startswith("create job: done in") for m in msgs), msgs)
        # No other instance shares it.
        self.assertEqual({o["instance"] for o in mine if "instance" in o}, {iid})


class Audit(harness.PluginTest):
    plugin_args = ("--stop-timeout", "1s")

    def test_every_destroy_says_who(self):
        me = os.getuid()
        # RPC, with InfraKit's Reason.
        a = self.c.provision({"VMX": "alpine"}, tags={G: "x"})["ID"]
        self.c.destroy(a, reason="rolling_update")
        # Written before the destroy was acknowledged.
        self.assertEqual([l["outcome"] for l in audit_lines(self.p)][:1], ["requested"])
        harness.wait_until(lambda: any(l["instance"] == a and l["outcome"] == "destroyed"
                                       for l in audit_lines(self.p)), what="destroyed line")
        lines = [l for l in audit_lines(self.p) if l["instance"] == a]
        self.assertEqual([l["outcome"] for l in lines], ["requested", "destroyed"])
        req = lines[0]
        self.assertEqual(req["reason"], "rolling_update")
        self.assertEqual(req["by"]["via"], "rpc")
        self.assertEqual(req["by"]["transport"], "unix")
        self.assertEqual(req["by"]["uid"], me)
        self.assertEqual(req["by"]["pid"], os.getpid())
        self.assertTrue(req["request_id"])
        self.assertEqual(lines[1]["request_id"], req["request_id"])
        self.assertRegex(req["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # The CLI, with its own reason.
        b = self.c.provision({"VMX": "alpine"}, tags={G: "x"})["ID"]
        self.p.run_cli("destroy", "--reason", "by-hand", b)
        lb = [l for l in audit_lines(self.p) if l["instance"] == b]
        self.assertEqual(lb[0]["outcome"], "requested")
        self.assertEqual(lb[0]["reason"], "by-hand")
        self.assertEqual(lb[0]["by"]["via"], "cli")
        self.assertEqual(lb[0]["by"]["uid"], me)
        # The group controller scaling down.
        self.c.call("Group.CommitGroup", {"Spec": spec("web", 2), "Pretend": False})
        harness.wait_until(lambda: len(self.c.ids({G: "web"})) == 2, what="2 members")
        self.c.call("Group.CommitGroup", {"Spec": spec("web", 1), "Pretend": False})
        harness.wait_until(lambda: len(self.c.ids({G: "web"})) == 1, what="1 member")
        gl = [l for l in audit_lines(self.p) if l["by"].get("via") == "group"
              and l["outcome"] == "requested"]
        self.assertEqual(len(gl), 1, audit_lines(self.p))
        self.assertEqual(gl[0]["by"]["group"], "web")
        self.assertEqual(gl[0]["reason"], "terminate")
        self.assertNotIn(gl[0]["instance"], self.c.ids({G: "web"}))
        # Bad input is refused with the fix, not cut short.
        p = self.p.run_cli("destroy", "--reason", "x" * 200, "i-none", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--reason", p.stderr)
        # Kept across a restart, and appended to, never truncated; a line
        # a crash cut short stays as it is, and the next starts on its own.
        before = audit_lines(self.p)
        self.c.close()
        self.p.stop()
        path = os.path.join(self.p.vm_dir, "audit.log")
        with open(path, "a") as f:
            f.write('{"time":"cut')
        self.p.start()
        self.c = self.p.client()
        self.c.destroy("i-nosuch", reason="terminate")

        def lines():
            with open(path) as f:
                return f.read().splitlines()
        # "gone" is answered at once; its line follows with the next flush.
        harness.wait_until(lambda: len(lines()) == len(before) + 2, what="the gone line")
        raw = lines()
        self.assertEqual([json.loads(l) for l in raw[:len(before)]], before)
        self.assertEqual(raw[len(before)], '{"time":"cut')
        last = json.loads(raw[-1])
        self.assertEqual(len(raw), len(before) + 2)
        self.assertEqual(last["instance"], "i-nosuch")
        self.assertEqual(last["outcome"], "gone")
        st = os.stat(os.path.join(self.p.vm_dir, "audit.log"))
        self.assertEqual(st.st_mode & 0o777, 0o600)


@unittest.skipUnless(test_tls.OPENSSL, "the openssl command is missing")
class AuditOverTLS(harness.PluginTest):
    """On tcps:// the peer is the client's address, not the TLS front's
    socket pair; /metrics is served there too."""
    start_plugin = False

    def test_tls_destroy_names_the_client_address(self):
        pki = test_tls.make_pki(os.path.join(self.base, "pki"), "IP:127.0.0.1")
        p = self.new_plugin(args=["--listen", "tcps://127.0.0.1:0",
                                  "--tls-cert", pki.path("server.crt"),
                                  "--tls-key", pki.path("server.key"),
                                  "--tls-client-ca", pki.path("ca.crt")])
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        port = int(re.search(r"listening on tcps://127\.0\.0\.1:(\d+)", p.log()).group(1))
        c = self.c = p.client()
        iid = c.provision({"VMX": "alpine"}, tags={G: "tls"})["ID"]
        ctx = ssl.create_default_context(cafile=pki.path("ca.crt"))
        ctx.load_cert_chain(pki.path("client.crt"), pki.path("client.key"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10 * harness.SLOW)
        lport = raw.getsockname()[1]
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        body = json.dumps({"jsonrpc": "2.0", "method": "Instance.Destroy", "id": 3,
                           "params": {"Instance": iid, "Context": {"Reason": "terminate"}}})
        s.sendall(test_tls.http_request(body.encode()))
        data = b""
        while b'"id":3' not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertIn(b'"OK":true', data)
        req = [l for l in audit_lines(p) if l["instance"] == iid][0]
        self.assertEqual(req["outcome"], "requested")
        self.assertEqual(req["by"]["via"], "rpc")
        self.assertEqual(req["by"]["transport"], "tcp")
        self.assertEqual(req["by"]["address"], "127.0.0.1:%d" % lport)
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                           timeout=10 * harness.SLOW)
        conn.request("GET", "/metrics", headers={"Host": "127.0.0.1:%d" % port})
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        fams = parse(r.read().decode())
        conn.close()
        self.assertEqual(value(fams, "ikvf_rpc_requests_total", method="Instance.Destroy",
                               outcome="ok"), 1)


if __name__ == "__main__":
    harness.main()
