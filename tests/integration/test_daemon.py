#!/usr/bin/env python3
"""The daemon's life cycle and edges: one plugin per name and per vm-dir,
stale sockets after kill -9, clean SIGTERM, file modes, plugins-directory
resolution, TCP listening with .listen, flags and the client verbs."""

import json
import os
import signal
import socket
import stat
import subprocess
import time
import unittest

import harness


class Daemon(harness.PluginTest):

    def test_modes_and_pid_file(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.p.plugins).st_mode), 0o700)
        st = os.stat(self.p.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(self.p.pidfile) as f:
            text = f.read()
        self.assertEqual(text, str(self.p.proc.pid))  # decimal, no newline

    def test_second_daemon_on_same_name_refuses(self):
        other = self.new_plugin(vm_dir=os.path.join(self.base, "vms2"))
        rc = other.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        log = other.log()
        self.assertIn(self.p.socket, log)
        self.assertIn("PID %d" % self.p.proc.pid, log)
        # The first one is untouched and still answers.
        self.assertEqual(self.c.call("Handshake.Implements")["APIs"][0]["Name"], "Instance")
        self.assertTrue(os.path.exists(self.p.socket))
        with open(self.p.pidfile) as f:
            self.assertEqual(f.read(), str(self.p.proc.pid))

    def test_second_daemon_on_same_vm_dir_refuses(self):
        other = self.new_plugin(name="other", vm_dir=self.p.vm_dir)
        rc = other.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("PID %d" % self.p.proc.pid, other.log())
        self.assertIn("--vm-dir", other.log())
        self.assertFalse(os.path.exists(other.socket))

    def test_kill9_then_restart_replaces_stale_socket(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={"infrakit.group": "g"})["ID"]
        self.c.close()
        self.p.kill9()
        self.assertTrue(os.path.exists(self.p.socket))  # stale
        p2 = self.new_plugin()
        p2.start()
        self.c = p2.client()
        self.assertIn("removing stale socket", p2.log())
        self.assertEqual(self.c.ids({"infrakit.group": "g"}), [iid])
        with open(p2.pidfile) as f:
            self.assertEqual(f.read(), str(p2.proc.pid))

    def test_sigterm_while_requests_in_flight(self):
        # The harness's stop() checks exit 0 and that socket and pid file
        # are gone; do it with clients connected and an operation running.
        self.p.ctl_set("delay", "create", 2000)
        self.c.provision({"VMX": "alpine"})
        idle = socket.socket(socket.AF_UNIX)
        idle.connect(self.p.socket)
        t0 = time.time()
        self.p.stop()
        self.assertLess(time.time() - t0, 15)
        idle.close()
        self.assertIn("provision interrupted by shutdown", self.p.log())

    def test_not_a_socket_in_the_way(self):
        other = self.new_plugin(name="blocker", vm_dir=os.path.join(self.base, "v3"))
        with open(other.socket, "w") as f:
            f.write("user file")
        rc = other.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("not a socket", other.log())
        with open(other.socket) as f:
            self.assertEqual(f.read(), "user file")

    def test_tcp_listen_loopback(self):
        p2 = self.new_plugin(name="tcp", vm_dir=os.path.join(self.base, "v4"),
                             args=["--listen", "tcp://127.0.0.1:0"])
        p2.start()
        lf = os.path.join(p2.plugins, "tcp.listen")
        with open(lf) as f:
            url = f.read()
        self.assertTrue(url.startswith("tcp://127.0.0.1:"), url)
        port = int(url.rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":42}'
        s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        data = b""
        while not data.endswith(b"}\n"):
            data += s.recv(65536)
        s.close()
        self.assertIn(b'"id":42', data)
        # The client verbs find it through NAME.listen as well as the socket.
        out = p2.run_cli("describe", "-q")
        self.assertEqual(out.stdout, "")
        p2.stop()
        self.assertFalse(os.path.exists(lf))

    def test_tcp_listen_remote_needs_flag(self):
        p2 = self.new_plugin(name="remote", vm_dir=os.path.join(self.base, "v5"),
                             args=["--listen", "tcp://0.0.0.0:0"])
        rc = p2.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("--allow-remote", p2.log())
        self.assertIn("no authentication", p2.log())
        p3 = self.new_plugin(name="remote2", vm_dir=os.path.join(self.base, "v6"),
                             args=["--listen", "tcp://0.0.0.0:0", "--allow-remote"])
        p3.start()
        self.assertIn("WITHOUT AUTHENTICATION", p3.log())

    def test_tcp_port_out_of_range(self):
        """tcp://H:99999 used to bind port 34463 (99999 mod 65536)."""
        for port, why in (("99999", "too large"), ("65536", "too large"),
                          ("-1", "invalid"), ("http", "invalid"),
                          ("80x", "invalid"), ("", None)):
            with self.subTest(port=port):
                vm = os.path.join(self.base, "vp" + port)
                proc = subprocess.Popen(
                    [harness.TESTD_BIN, "serve", "--backend", "test",
                     "--name", "port", "--vm-dir", vm,
                     "--listen", "tcp://127.0.0.1:" + port],
                    env=self.p.env, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True)
                try:
                    out, _ = proc.communicate(timeout=10 * harness.SLOW)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, _ = proc.communicate()
                    self.fail("--listen tcp://127.0.0.1:%s was accepted: "
                              "the plugin serves (%s)" % (port, out[-500:]))
                self.assertEqual(proc.returncode, 2, out)
                if why is None:
                    self.assertIn("use tcp://HOST:PORT", out)
                else:
                    self.assertIn('port "%s" is %s; use a number from 1 to '
                                  '65535 (or 0 for any free port)' %
                                  (port, why), out)
                self.assertFalse(os.path.exists(
                    os.path.join(self.p.plugins, "port.listen")))
        # A client cannot connect to "any port".
        p = subprocess.run([harness.TESTD_BIN, "describe", "--listen",
                            "tcp://127.0.0.1:0"], env=self.p.env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn('port "0" is too small; use a number from 1 to 65535',
                      p.stderr)

    def test_client_verbs(self):
        spec = os.path.join(self.base, "spec.json")
        with open(spec, "w") as f:
            json.dump({"Properties": {"VMX": "alpine", "NumCPUs": 2},
                       "Tags": {"infrakit.group": "cli", "tier": "web"},
                       "Init": "echo hi", "LogicalID": "web-1"}, f)
        iid = self.p.run_cli("provision", spec).stdout.strip()
        self.assertTrue(iid.startswith("i-"), iid)
        out = self.p.run_cli("describe", "--tags", "infrakit.group=cli").stdout
        self.assertIn(iid, out)
        self.assertIn("web-1", out)
        self.assertIn("tier=web", out)
        out = self.p.run_cli("describe", "-q").stdout.split()
        self.assertEqual(out, [iid])
        out = json.loads(self.p.run_cli("describe", "--json", "--properties").stdout)
        self.assertEqual(out["Descriptions"][0]["Properties"]["Template"], "alpine")
        self.assertEqual(self.p.run_cli("label", iid, "owner=me", "x=y").returncode, 0)
        self.assertEqual(self.c.describe()[0]["Tags"]["owner"], "me")
        # Validate reads Properties from a file (or stdin).
        out = self.p.run_cli("validate", "-", stdin='{"VMX":"alpine"}')
        self.assertEqual(out.stdout.strip(), "valid")
        out = self.p.run_cli("validate", "-", stdin='{"VMX":"nope"}', check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn('template "nope" not found', out.stderr)
        out = self.p.run_cli("label", "i-unknown", "a=b", check=False)
        self.assertEqual(out.returncode, 1)
        self.assertEqual(self.p.run_cli("destroy", iid).returncode, 0)
        self.assertEqual(self.c.ids(), [])
        # describe --all still shows it while it is being destroyed or
        # after a failure; here it goes away completely.
        harness.wait_until(lambda: self.c.describe(all_=True) == [], what="destroyed")

    def test_client_without_plugin(self):
        p = subprocess.run([harness.TESTD_BIN, "describe", "--name", "absent"],
                           env=self.p.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 3)
        self.assertIn("cannot reach the plugin", p.stderr)

    def test_flags(self):
        for args, needle in ((["--bogus"], "unknown flag --bogus"),
                             (["--log", "9"], "--log 9"),
                             (["--clone", "deep"], "use auto, linked, full or copy"),
                             (["--poll-interval", "fast"], "not a duration"),
                             (["--stop-timeout", "-5s"],
                              '--stop-timeout "-5s" is negative'),
                             (["--op-timeout", "5sec"],
                              '--op-timeout "5sec" has an unknown unit; write a '
                              'duration such as 30s, 1m30s'),
                             (["--group-restart-wait", "1m5"],
                              '--group-restart-wait "1m5" has no unit'),
                             (["--op-timeout", "100000h"],
                              '--op-timeout "100000h" is too long; at most '
                              '1193h2m47.295s'),
                             (["--max-parallel", "0"], "--max-parallel 0"),
                             (["--name", "a/b"], "plain file name"),
                             (["--backend", "nope"], "--backend nope: unknown")):
            with self.subTest(args=args):
                p = subprocess.run([harness.TESTD_BIN, "serve", "--vm-dir",
                                    os.path.join(self.base, "vx"), "--name", "flags"] + args,
                                   env=self.p.env, capture_output=True, text=True, timeout=30)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(needle, p.stderr + p.stdout)
        # Go's duration syntax (issue 13): fractions and sequences.
        q = self.new_plugin(name="godur", vm_dir=os.path.join(self.base, "vgo"),
                            poll="0.25s",
                            args=["--stop-timeout", "1m30s", "--op-timeout",
                                  "1h2m3.5s", "--group-restart-wait", "1.5s"])
        q.start()
        c = q.client()
        self.assertEqual(c.describe(), [])
        c.close()
        p = subprocess.run([harness.PLUGIN_BIN, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        for flag in ("--name", "--listen", "--vm-dir", "--vm-lib", "--backend", "--vmrun",
                     "--clone", "--max-parallel", "--log", "--allow-remote"):
            self.assertIn(flag, p.stdout)
        p = subprocess.run([harness.PLUGIN_BIN, "version"], capture_output=True, text=True)
        v = json.loads(p.stdout)
        self.assertIn("version", v)
        self.assertIn("revision", v)


class PluginsDir(unittest.TestCase):
    """INFRAKIT_PLUGINS_DIR, else INFRAKIT_HOME/plugins, else
    ~/.infrakit/plugins."""

    def run_with(self, env_changes, expect_dir, base):
        env = dict(os.environ)
        for k in ("INFRAKIT_PLUGINS_DIR", "INFRAKIT_HOME"):
            env.pop(k, None)
        env.update(env_changes)
        env["TESTBACKEND_CTL"] = base
        proc = subprocess.Popen([harness.TESTD_BIN, "serve", "--backend", "test", "--vm-dir",
                                 os.path.join(base, "vms"), "--vm-lib", base],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sock = os.path.join(expect_dir, "vmware-fusion")
        try:
            harness.wait_until(lambda: os.path.exists(sock), what=sock, timeout=20)
            self.assertEqual(stat.S_IMODE(os.stat(expect_dir).st_mode), 0o700)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        self.assertFalse(os.path.exists(sock))

    def test_resolution(self):
        import tempfile
        import shutil
        base = tempfile.mkdtemp(prefix="ikvf-dir-")
        try:
            self.run_with({"INFRAKIT_PLUGINS_DIR": os.path.join(base, "pd")},
                          os.path.join(base, "pd"), base)
            self.run_with({"INFRAKIT_HOME": os.path.join(base, "ih")},
                          os.path.join(base, "ih", "plugins"), base)
            # The default: $HOME/.infrakit/plugins, $HOME winning over the
            # user database (issue 13: it used to be ignored).
            import pwd
            home = os.path.join(base, "home")
            os.makedirs(home)
            self.assertNotEqual(home, pwd.getpwuid(os.getuid()).pw_dir)
            self.run_with({"HOME": home}, os.path.join(home, ".infrakit", "plugins"), base)
        finally:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
