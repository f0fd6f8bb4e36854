"""TLS on the TCP listener (issue 14): --listen tcps://, --tls-cert, --tls-key,
--tls-client-ca, and the client verbs' --host tcps:// with --tls-cert,
--tls-key and --tls-ca.

Each test makes its own CA and certificates with the openssl command (EC P-256:
quick to make). A client with a certificate from the CA is served, through the
client verb and through Python's ssl; every other one is refused and the
daemon's log says why, on the line naming that connection's own port. One test
runs the daemon and the client in two network namespaces joined by a veth pair
with private addresses (no traffic leaves this machine).
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import PluginTest, wait_until  # noqa: E402

OPENSSL = shutil.which("openssl")
# TLS_HANDSHAKE_MAX in src/util/defaults.h.
HANDSHAKE_MAX = 256


def openssl(cwd, *args):
    p = subprocess.run([OPENSSL] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr))


class PKI:
    """A directory of CAs and the certificates they sign."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)

    def path(self, name):
        return os.path.join(self.d, name)

    def ca(self, name):
        openssl(self.d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-subj", "/CN=" + name,
                "-days", "3", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return self.path(name + ".crt")

    def cert(self, name, ca, san=None, usage="clientAuth", days=3):
        """name.crt / name.key signed by ca; days < 0 makes it expired."""
        openssl(self.d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
        ext = "extendedKeyUsage=%s\n" % usage
        if san:
            ext += "subjectAltName=%s\n" % san
        with open(self.path(name + ".ext"), "w") as f:
            f.write(ext)
        openssl(self.d, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
                "-CAkey", ca + ".key", "-CAcreateserial", "-days", str(days),
                "-extfile", name + ".ext", "-out", name + ".crt")
        os.chmod(self.path(name + ".key"), 0o600)
        return self.path(name + ".crt"), self.path(name + ".key")


def make_pki(d, server_san):
    pki = PKI(d)
    pki.ca("ca")
    pki.ca("otherca")
    pki.cert("server", "ca", san=server_san, usage="serverAuth")
    pki.cert("client", "ca")
    pki.cert("stranger", "otherca")
    pki.cert("expired", "ca", days=-1)
    return pki


def describe_body(rid=7):
    return json.dumps({"jsonrpc": "2.0", "method": "Instance.DescribeInstances",
                       "params": {"Type": "", "Tags": {}, "Properties": False},
                       "id": rid}).encode()


def http_request(body):
    return (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


@unittest.skipUnless(OPENSSL, "the openssl command is missing (scripts/deps.sh test installs it)")
class TLSTest(PluginTest):
    start_plugin = False

    def setUp(self):
        super().setUp()
        self.pki = make_pki(os.path.join(self.base, "pki"), "IP:127.0.0.1")

    def tls_args(self, listen="tcps://127.0.0.1:0", client_ca=True):
        a = ["--listen", listen, "--tls-cert", self.pki.path("server.crt"),
             "--tls-key", self.pki.path("server.key")]
        if client_ca:
            a += ["--tls-client-ca", self.pki.path("ca.crt")]
        return a

    def start_tls_plugin(self, **kw):
        p = self.new_plugin(args=self.tls_args(**kw))
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        m = re.search(r"listening on tcps://127\.0\.0\.1:(\d+)", p.log())
        self.assertIsNotNone(m, p.log())
        self.assertFalse(os.path.exists(p.socket + ".listen"),
                         "a tcps:// listener wrote NAME.listen")
        return p, int(m.group(1))

    def context(self, cert=None, ca="ca"):
        ctx = ssl.create_default_context(cafile=self.pki.path(ca + ".crt"))
        if cert:
            ctx.load_cert_chain(self.pki.path(cert + ".crt"), self.pki.path(cert + ".key"))
        return ctx

    def attempt(self, port, ctx):
        """One TLS request from a port we know; returns (our port, the
        answer's bytes, the exception or None)."""
        raw = socket.socket()
        raw.settimeout(10 * harness.SLOW)
        raw.bind(("127.0.0.1", 0))
        lport = raw.getsockname()[1]
        raw.connect(("127.0.0.1", port))
        data = b""
        s = raw
        try:
            s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(http_request(describe_body()))
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return lport, data, None
        except (ssl.SSLError, OSError) as e:
            return lport, data, e
        finally:
            s.close()

    def cli(self, p, *args, host=None):
        cmd = [harness.TESTD_BIN, args[0], "--name", p.name] + list(args[1:])
        if host:
            cmd += ["--host", host]
        return subprocess.run(cmd, env=p.env, capture_output=True, text=True,
                              timeout=60 * harness.SLOW)

    def certs(self, who):
        return ["--tls-cert", self.pki.path(who + ".crt"), "--tls-key", self.pki.path(who + ".key")]

    def assert_refused(self, p, lport, why):
        line = wait_until(lambda: [l for l in p.log().splitlines()
                                   if "tls 127.0.0.1:%d: refused" % lport in l],
                          timeout=10 * harness.SLOW, what="the refusal of port %d" % lport)
        self.assertIn(why, line[0])

    def test_client_with_certificate_from_the_ca(self):
        p, port = self.start_tls_plugin()
        c = p.client()
        iid = c.provision({"VMX": "alpine"}, tags={"tier": "web"})["ID"]
        c.close()
        # The client verb.
        r = self.cli(p, "describe", "-q", *self.certs("client"), "--tls-ca",
                     self.pki.path("ca.crt"), host="tcps://127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [iid])
        # Python's ssl, through http.client, keeping the connection alive.
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=self.context("client"),
                                           timeout=10 * harness.SLOW)
        for rid in (1, 2):
            conn.request("POST", "/", body=describe_body(rid),
                         headers={"Content-Type": "application/json"})
            ans = json.loads(conn.getresponse().read())
            self.assertEqual(ans["id"], rid)
            self.assertEqual([d["ID"] for d in ans["result"]["Descriptions"]], [iid])
        self.assertIn(conn.sock.version(), ("TLSv1.2", "TLSv1.3"))
        conn.close()
        # The plugin's own log names the client's certificate (--log 5).
        self.assertIn("client certificate /CN=client", p.log())

    def test_refused_connections_are_logged_with_why(self):
        p, port = self.start_tls_plugin()
        cases = [
            ("no certificate", self.context(), "no client certificate"),
            ("another CA", self.context("stranger"),
             "client certificate /CN=stranger is not from the CA in --tls-client-ca"),
            ("expired", self.context("expired"), "client certificate /CN=expired has expired"),
        ]
        for what, ctx, why in cases:
            with self.subTest(what):
                lport, data, _ = self.attempt(port, ctx)
                self.assertNotIn(b'"result"', data)
                self.assert_refused(p, lport, why)
        with self.subTest("plain HTTP"):
            s = socket.socket()
            s.settimeout(10 * harness.SLOW)
            s.bind(("127.0.0.1", 0))
            lport = s.getsockname()[1]
            s.connect(("127.0.0.1", port))
            s.sendall(http_request(describe_body()))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data)
            self.assertIn(b"this port speaks TLS", data)
            self.assert_refused(p, lport, "plain HTTP on the TLS port")
        with self.subTest("garbage"):
            s = socket.create_connection(("127.0.0.1", port), timeout=10 * harness.SLOW)
            lport = s.getsockname()[1]
            s.sendall(b"\x16\x03\x01\xff\xff" + os.urandom(600))
            self.assertNotIn(b"HTTP", s.recv(100))
            s.close()
            self.assert_refused(p, lport, "not a TLS handshake")
        with self.subTest("TLS 1.1"):
            ctx = self.context("client")
            try:
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            except (ValueError, ssl.SSLError) as e:
                self.skipTest("this Python cannot offer TLS 1.1: %s" % e)
            lport, data, err = self.attempt(port, ctx)
            if err is not None and "NO_PROTOCOLS_AVAILABLE" in str(err):
                self.skipTest("this OpenSSL will not offer TLS 1.1")
            self.assertNotIn(b'"result"', data)
            self.assert_refused(p, lport, "older than 1.2")

    def test_client_verb_errors(self):
        p, port = self.start_tls_plugin()
        tcps = "tcps://127.0.0.1:%d" % port
        ca = ["--tls-ca", self.pki.path("ca.crt")]
        r = self.cli(p, "describe", *ca, host=tcps)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("the plugin refused this client", r.stderr)
        self.assertIn("pass --tls-cert and --tls-key", r.stderr)
        r = self.cli(p, "describe", *self.certs("client"), *ca,
                     host="tcps://localhost:%d" % port)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("does not name localhost in its subjectAltName", r.stderr)
        r = self.cli(p, "describe", *self.certs("client"), "--tls-ca",
                     self.pki.path("otherca.crt"), host=tcps)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("is not signed by the CA in --tls-ca", r.stderr)
        r = self.cli(p, "describe", host="tcp://127.0.0.1:%d" % port)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("this port speaks TLS", r.stderr)
        # A tcps:// client to a plain listener.
        p2 = self.new_plugin(name="plain", vm_dir=os.path.join(self.base, "v2"),
                             args=["--listen", "tcp://127.0.0.1:0"])
        p2.start()
        with open(p2.socket + ".listen") as f:
            plain = f.read().strip()
        r = self.cli(p2, "describe", *self.certs("client"), *ca,
                     host=plain.replace("tcp://", "tcps://"))
        self.assertEqual(r.returncode, 3, r.stderr)
        # The plain server answers the ClientHello with an HTTP 400, or
        # closes without a word: the client says so either way.
        self.assertRegex(r.stderr, "does not speak TLS|the connection ended during the "
                                   "handshake: not a TLS listener")
        # The client's own files are checked before it connects: a usage
        # error naming the flag and the file.
        for args, want in ((["--tls-ca", self.pki.path("missing.crt")],
                            "--tls-ca %s: open" % self.pki.path("missing.crt")),
                           (["--tls-cert", self.pki.path("client.crt"), "--tls-key",
                             self.pki.path("server.key")] + ca,
                            "--tls-key %s does not match the certificate in --tls-cert"
                            % self.pki.path("server.key"))):
            r = self.cli(p, "describe", *args, host=tcps)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(want, r.stderr)
        # Flags that do not go together.
        for args, want in ((self.certs("client")[:2], "--tls-cert and --tls-key go together"),
                           (ca + ["--host", "tcp://127.0.0.1:1"], "are for TLS")):
            r = self.cli(p, "describe", *args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(want, r.stderr)
        # The group verbs take the same flags.
        r = self.cli(p, "group", "ls", *self.certs("client"), *ca, host=tcps)
        self.assertEqual(r.returncode, 0, r.stderr)

    def serve_fails(self, args):
        p = subprocess.run([harness.TESTD_BIN, "serve", "--backend", "test", "--name", "bad",
                            "--vm-dir", os.path.join(self.base, "vbad"),
                            "--vm-lib", os.path.join(self.base, "lib")] + args,
                           env=dict(os.environ, INFRAKIT_PLUGINS_DIR=os.path.join(self.base, "pb")),
                           capture_output=True, text=True, timeout=30 * harness.SLOW)
        self.assertNotEqual(p.returncode, 0, "serve started with %s" % args)
        return p.stdout + p.stderr

    def test_start_errors_name_the_file_and_the_fix(self):
        pk = self.pki.path
        with open(pk("garbage.pem"), "w") as f:
            f.write("not a certificate\n")
        cert, key, ca = pk("server.crt"), pk("server.key"), pk("ca.crt")
        cases = [
            (["--tls-key", pk("missing.key")], "--tls-key %s: open %s" % (pk("missing.key"),
                                                                         pk("missing.key"))),
            (["--tls-key", pk("client.key")], "--tls-key %s does not match the certificate in "
                                              "--tls-cert %s" % (pk("client.key"), cert)),
            (["--tls-key", cert], "--tls-key %s: no PEM private key in it" % cert),
            (["--tls-cert", key], "--tls-cert %s: no PEM certificate in it" % key),
            (["--tls-client-ca", pk("garbage.pem")],
             "--tls-client-ca %s: no PEM certificate in it" % pk("garbage.pem")),
        ]
        for change, want in cases:
            with self.subTest(want):
                args = {"--tls-cert": cert, "--tls-key": key, "--tls-client-ca": ca}
                args[change[0]] = change[1]
                flat = ["--listen", "tcps://127.0.0.1:0"]
                for k, v in args.items():
                    flat += [k, v]
                self.assertIn(want, self.serve_fails(flat))
        self.assertIn("needs --tls-cert and --tls-key",
                      self.serve_fails(["--listen", "tcps://127.0.0.1:0"]))
        self.assertIn("are for TLS: use --listen tcps://",
                      self.serve_fails(["--listen", "tcp://127.0.0.1:0", "--tls-cert", cert,
                                        "--tls-key", key]))
        # An encrypted key is refused at once, never prompted for.
        openssl(self.pki.d, "pkey", "-in", "server.key", "-aes256", "-passout", "pass:x",
                "-out", "enc.key")
        self.assertIn("the key is encrypted with a passphrase",
                      self.serve_fails(self.tls_args()[:4] + ["--tls-key", pk("enc.key")]))

    def test_stalled_handshakes_do_not_starve_others(self):
        p, port = self.start_tls_plugin()
        stalled = []
        try:
            for _ in range(HANDSHAKE_MAX + 4):
                s = socket.create_connection(("127.0.0.1", port), timeout=10 * harness.SLOW)
                stalled.append(s)
            # Half a ClientHello on the newest: still waiting too.
            stalled[-1].sendall(b"\x16\x03\x01\x02\x00\x01")
            # A real client is served while they all wait.
            lport, data, err = self.attempt(port, self.context("client"))
            self.assertIsNone(err)
            self.assertIn(b'"Descriptions"', data)
            # The oldest ones made room: the plugin closed them and says so.
            self.assertEqual(stalled[0].recv(10), b"")
            self.assertIn("handshake not finished while newer ones waited", p.log())
        finally:
            for s in stalled:
                s.close()


def have_netns():
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "the ip command is missing (scripts/deps.sh test installs iproute2)"
    if OPENSSL is None:
        return "the openssl command is missing"
    return None


class NetnsPlugin(harness.Plugin):
    """The plugin inside a network namespace (its files stay shared)."""
    netns = None

    def cmdline(self):
        return ["ip", "netns", "exec", self.netns] + super().cmdline()


@unittest.skipIf(have_netns() is not None, have_netns() or "")
class TwoHostsTest(PluginTest):
    """The daemon in namespace A on its veth address, the client in B."""

    start_plugin = False

    def setUp(self):
        super().setUp()
        tag = os.getpid() % 200 + 10
        self.ns_a, self.ns_b = "ikvf-tls-a-%d" % os.getpid(), "ikvf-tls-b-%d" % os.getpid()
        self.addr_a, self.addr_b = "10.200.%d.1" % tag, "10.200.%d.2" % tag
        self.addCleanup(self.cleanup_netns)
        for argv in (["ip", "netns", "add", self.ns_a], ["ip", "netns", "add", self.ns_b],
                     ["ip", "link", "add", "ikvfa%d" % tag, "type", "veth", "peer", "name",
                      "ikvfb%d" % tag],
                     ["ip", "link", "set", "ikvfa%d" % tag, "netns", self.ns_a],
                     ["ip", "link", "set", "ikvfb%d" % tag, "netns", self.ns_b],
                     ["ip", "-n", self.ns_a, "addr", "add", self.addr_a + "/30", "dev",
                      "ikvfa%d" % tag],
                     ["ip", "-n", self.ns_b, "addr", "add", self.addr_b + "/30", "dev",
                      "ikvfb%d" % tag],
                     ["ip", "-n", self.ns_a, "link", "set", "ikvfa%d" % tag, "up"],
                     ["ip", "-n", self.ns_b, "link", "set", "ikvfb%d" % tag, "up"],
                     ["ip", "-n", self.ns_a, "link", "set", "lo", "up"],
                     ["ip", "-n", self.ns_b, "link", "set", "lo", "up"]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                self.skipTest("cannot make the namespaces (%s: %s)" % (" ".join(argv),
                                                                      r.stderr.strip()))
        self.pki = make_pki(os.path.join(self.base, "pki"), "IP:" + self.addr_a)

    def cleanup_netns(self):
        for ns in (self.ns_a, self.ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def plugin_in_a(self, name, args):
        p = NetnsPlugin(self.base, name=name, backend="test", args=args,
                        vm_dir=os.path.join(self.base, "vms-" + name))
        p.netns = self.ns_a
        self.plugins_started.append(p)
        return p

    def test_manager_on_another_host(self):
        pk = self.pki.path
        tls = ["--tls-cert", pk("server.crt"), "--tls-key", pk("server.key")]
        # Beyond loopback without client certificates: refused, TLS or not.
        for name, args in (("plain", ["--listen", "tcp://%s:0" % self.addr_a]),
                           ("nocerts", ["--listen", "tcps://%s:0" % self.addr_a] + tls)):
            p = self.plugin_in_a(name, args)
            self.assertNotEqual(p.start(expect_fail=True), 0)
            self.assertIn("without client certificates", p.log())
            self.assertIn("--tls-client-ca", p.log())
        p = self.plugin_in_a("tls", ["--listen", "tcps://%s:0" % self.addr_a] + tls +
                             ["--tls-client-ca", pk("ca.crt")])
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        m = re.search(r"listening on tcps://%s:(\d+)" % re.escape(self.addr_a), p.log())
        self.assertIsNotNone(m, p.log())
        host = "tcps://%s:%s" % (self.addr_a, m.group(1))
        c = p.client()
        iid = c.provision({"VMX": "alpine"})["ID"]
        c.close()

        def from_b(*args):
            return subprocess.run(["ip", "netns", "exec", self.ns_b, harness.TESTD_BIN] +
                                  list(args) + ["--host", host, "--tls-ca", pk("ca.crt")],
                                  env=p.env, capture_output=True, text=True,
                                  timeout=60 * harness.SLOW)

        r = from_b("describe", "-q", "--tls-cert", pk("client.crt"), "--tls-key",
                   pk("client.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [iid])
        self.assertRegex(p.log(), r"tls %s:\d+: TLSv1\.[23], client certificate /CN=client"
                         % re.escape(self.addr_b))
        r = from_b("describe")
        self.assertEqual(r.returncode, 3, r.stderr)
        wait_until(lambda: re.search(r"tls %s:\d+: refused: no client certificate"
                                     % re.escape(self.addr_b), p.log()),
                   timeout=10, what="the refusal from namespace B")


if __name__ == "__main__":
    harness.main()
