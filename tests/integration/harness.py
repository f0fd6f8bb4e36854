"""Shared helpers for the integration tests: start the real plugin binary on a
private plugins directory, talk HTTP/1.1 + JSON-RPC to it over its unix
socket, and check that it shuts down cleanly (exit 0, no sanitizer report).

Stdlib only. Environment (set by meson): PLUGIN_BIN, TESTD_BIN, SHARED_DIR,
TESTS_DIR.
"""

import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

PLUGIN_BIN = os.environ.get("PLUGIN_BIN", "build/src/infrakit-instance-vmware-fusion")
TESTD_BIN = os.environ.get("TESTD_BIN", "build/tests/plugin-testd")
SHARED_DIR = os.environ.get("SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
TESTS_DIR = os.environ.get("TESTS_DIR", os.path.join(os.path.dirname(__file__), ".."))
REPO_DIR = os.path.abspath(os.path.join(TESTS_DIR, ".."))
# A program to run the plugin under, e.g. valgrind (run-tests.sh does).
WRAPPER = shlex.split(os.environ.get("PLUGIN_WRAPPER", ""))
SLOW = 10 if WRAPPER else 1
# The protocol's hard limit on one call (2017 master clients give up after
# 1 s). Under ASan on a shared 2-core CI box the client-side measurement
# includes the sanitizer's and the Python client's own delays, so
# run-tests.sh raises it there with RPC_LATENCY_LIMIT.
RPC_LIMIT = float(os.environ.get("RPC_LATENCY_LIMIT", "1.0")) * SLOW

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ThreadSanitizer", "UndefinedBehaviorSanitizer")

TEMPLATE_VMX = """.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "12"
displayName = "{name}"
guestOS = "other3xlinux-64"
memsize = "768"
numvcpus = "1"
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.addressType = "generated"
"""


def make_template(lib, name, fusion=True, text=None):
    """Creates a template bundle in lib: NAME.vmwarevm/NAME.vmx (Fusion) or
    NAME/NAME.vmx (Workstation). Returns the .vmx path."""
    d = os.path.join(lib, name + ".vmwarevm" if fusion else name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".vmx")
    with open(path, "w") as f:
        f.write(text if text is not None else TEMPLATE_VMX.format(name=name))
    return path


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket; keeps the connection alive."""

    def __init__(self, path, timeout=30):
        super().__init__("h", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


_next_id = [1000]
_id_lock = threading.Lock()


def new_id():
    with _id_lock:
        _next_id[0] += 1
        return _next_id[0]


class RPCError(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.message = message
        self.code = code


class Client:
    """One keep-alive connection to the plugin."""

    def __init__(self, sock_path, timeout=30):
        self.conn = UnixHTTPConnection(sock_path, timeout=timeout)

    def close(self):
        self.conn.close()

    def post_raw(self, body, content_type="application/json"):
        """POSTs body (bytes or str); returns (status, headers, body text)."""
        if isinstance(body, str):
            body = body.encode()
        headers = {"Content-Type": content_type} if content_type is not None else {}
        try:
            self.conn.request("POST", "/", body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # The plugin closes keep-alive connections idle for
            # HTTP_CONN_TIMEOUT_S (30 s; a test that watched a slow boot
            # meanwhile): nothing was sent, so send it again, once, anew.
            self.conn.close()
            self.conn.request("POST", "/", body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read().decode("utf-8", "replace")
        return r.status, dict(r.getheaders()), data

    def get(self, path):
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        return r.status, r.read().decode()

    def call(self, method, params=None, rid=None, want_error=False):
        """A JSON-RPC call; returns result (or raises RPCError)."""
        rid = new_id() if rid is None else rid
        body = json.dumps({"jsonrpc": "2.0", "method": method,
                           "params": params if params is not None else {}, "id": rid})
        status, _, text = self.post_raw(body)
        ans = json.loads(text)
        assert ans.get("jsonrpc") == "2.0", text
        assert ans.get("id") == rid, "id not echoed: %s" % text
        if "error" in ans and ans["error"] is not None:
            # want_error None: an error or a result, whichever comes.
            if want_error or want_error is None:
                return ans["error"]
            raise RPCError(ans["error"].get("message"), ans["error"].get("code"))
        if want_error:
            raise AssertionError("expected an error, got %s" % text)
        assert ans.get("result") is not None, text
        return ans["result"]

    # Conveniences with InfraKit's params.
    def provision(self, props, tags=None, init="", logical_id=None, typ="", **kw):
        spec = {"Properties": props, "Tags": tags, "Init": init, "LogicalID": logical_id,
                "Attachments": None}
        return self.call("Instance.Provision", {"Type": typ, "Spec": spec}, **kw)

    def destroy(self, iid, reason="terminate", typ="", **kw):
        return self.call("Instance.Destroy", {"Type": typ, "Instance": iid,
                                              "Context": {"Reason": reason}}, **kw)

    def describe(self, tags=None, props=False, typ="", all_=False):
        p = {"Type": typ, "Tags": tags or {}, "Properties": props}
        if all_:
            p["All"] = True
        return self.call("Instance.DescribeInstances", p)["Descriptions"] or []

    def ids(self, tags=None, typ=""):
        return sorted(d["ID"] for d in self.describe(tags, typ=typ))

    def label(self, iid, labels, **kw):
        return self.call("Instance.Label", {"Type": "", "Instance": iid, "Labels": labels}, **kw)

    def validate(self, props, typ="", **kw):
        return self.call("Instance.Validate", {"Type": typ, "Properties": props}, **kw)


class Plugin:
    """A plugin process on a private plugins directory under base."""

    def __init__(self, base, name="vmware-fusion", binary=None, backend="test", args=(),
                 env=None, vm_dir=None, vm_lib=None, poll="200ms"):
        self.base = base
        self.name = name
        self.binary = binary or TESTD_BIN
        self.plugins = os.path.join(base, "plugins")
        self.socket = os.path.join(self.plugins, name)
        self.pidfile = self.socket + ".pid"
        self.vm_dir = vm_dir or os.path.join(base, "vms")
        self.vm_lib = vm_lib or os.path.join(base, "lib")
        self.ctl = os.path.join(base, "ctl")
        os.makedirs(self.ctl, exist_ok=True)
        os.makedirs(self.vm_lib, exist_ok=True)
        self.backend = backend
        self.args = list(args)
        self.poll = poll
        self.env = dict(os.environ)
        self.env["INFRAKIT_PLUGINS_DIR"] = self.plugins
        self.env["TESTBACKEND_CTL"] = self.ctl
        self.env.pop("INFRAKIT_HOME", None)
        if env:
            self.env.update(env)
        self.proc = None
        self.preexec = None  # run in the child before exec (setrlimit)
        self.log_path = os.path.join(base, "plugin-%s.log" % name)
        self.logs = []

    def cmdline(self):
        cmd = [self.binary, "serve", "--name", self.name, "--vm-dir", self.vm_dir,
               "--vm-lib", self.vm_lib, "--log", "5", "--poll-interval", self.poll]
        if self.backend:
            cmd += ["--backend", self.backend]
        return WRAPPER + cmd + self.args

    def start(self, wait=True, expect_fail=False):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmdline(), env=self.env, stdout=self.logf,
                                     stderr=subprocess.STDOUT, preexec_fn=self.preexec)
        if expect_fail:
            rc = self.proc.wait(timeout=30 * SLOW)
            self.logf.close()
            return rc
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        end = time.time() + timeout * SLOW
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError("plugin exited %s at start:\n%s" % (self.proc.returncode, self.log()))
            if os.path.exists(self.socket):
                try:
                    c = self.client()
                    c.call("Handshake.Implements")
                    c.close()
                    return
                except (OSError, RPCError, http.client.HTTPException):
                    pass
            time.sleep(0.02)
        raise AssertionError("plugin not ready after %ss:\n%s" % (timeout, self.log()))

    def client(self, timeout=30):
        return Client(self.socket, timeout=timeout)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_log_clean(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError("sanitizer report in plugin log:\n" + text[-20000:])

    def stop(self, timeout=60 * SLOW):
        """SIGTERM; the plugin must exit 0 and remove socket and pid file."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("plugin did not stop on SIGTERM:\n" + self.log()[-5000:])
        self.logf.close()
        self.check_log_clean()
        if rc != 0:
            raise AssertionError("plugin exited %d on SIGTERM:\n%s" % (rc, self.log()[-20000:]))
        assert not os.path.exists(self.socket), "socket left after SIGTERM"
        assert not os.path.exists(self.pidfile), "pid file left after SIGTERM"
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()
        self.check_log_clean()

    # Test-backend control.
    def ctl_set(self, what, op, text=""):
        with open(os.path.join(self.ctl, "%s-%s" % (what, op)), "w") as f:
            f.write(str(text))

    def ctl_clear(self, what, op):
        try:
            os.unlink(os.path.join(self.ctl, "%s-%s" % (what, op)))
        except FileNotFoundError:
            pass

    def ops_log(self):
        try:
            with open(os.path.join(self.ctl, "ops.log")) as f:
                return [l.split() for l in f.read().splitlines()]
        except FileNotFoundError:
            return []

    def bundle(self, iid):
        return os.path.join(self.vm_dir, iid, iid + ".vmwarevm")

    def run_cli(self, *args, check=True, stdin=None):
        cmd = [self.binary] + list(args[:1]) + ["--name", self.name] + list(args[1:])
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, input=stdin,
                           timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s %s" % (cmd, p.returncode, p.stdout, p.stderr))
        return p


def wait_until(fn, timeout=30, interval=0.05, what="condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


class PluginTest(unittest.TestCase):
    """Base class: a temp dir per test and a started plugin (self.p)."""

    backend = "test"
    start_plugin = True
    plugin_args = ()

    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="ikvf-")
        self.plugins_started = []
        if self.start_plugin:
            self.p = self.new_plugin(args=self.plugin_args)
            make_template(self.p.vm_lib, "alpine")
            self.p.start()
            self.c = self.p.client()

    def new_plugin(self, **kw):
        kw.setdefault("backend", self.backend)
        p = Plugin(self.base, **kw)
        self.plugins_started.append(p)
        return p

    def tearDown(self):
        if getattr(self, "c", None) is not None:
            self.c.close()
        failures = []
        for p in self.plugins_started:
            try:
                p.stop()
            except AssertionError as e:
                failures.append(str(e))
        if not failures and not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.base, ignore_errors=True)
        if failures:
            raise AssertionError("\n".join(failures))


def percentile(values, pct):
    if not values:
        return 0.0
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(pct / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def main():
    unittest.main(verbosity=2)
