#!/usr/bin/env python3
"""`make install` and the service definitions it installs.

Runs `make install DESTDIR=<tmp> PREFIX=/usr` from a build directory of its
own, then checks the installed tree (every file expected and nothing else,
modes, the program runs), the systemd user unit (systemd-analyze verify
where it is installed, the required keys in any case, and its ExecStart run
as systemd would run it, then stopped with its KillSignal), the launchd
agent (plutil -lint on macOS, plistlib and the required keys everywhere)
and the Homebrew formula (loaded, installed and tested with
tests/integration/brew_stub.rb, a stand-in for Homebrew's DSL, when ruby is
installed).

Not a meson test: it builds and installs a tree of its own, which must not
happen once per sanitizer build. scripts/run-tests.sh runs it once and
counts each case. By hand: python3 tests/integration/test_install.py -v
(INSTALL_TEST_KEEP=1 keeps the temporary directory and prints it).
"""

import json
import os
import plistlib
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (make_template)

PKG = "infrakit-instance-vmware-fusion"
PREFIX = "/usr"
BIN = PREFIX + "/bin/" + PKG
UNIT = PREFIX + "/lib/systemd/user/" + PKG + ".service"
PLIST = PREFIX + "/share/" + PKG + "/launchd/" + PKG + ".plist"
FORMULA = os.path.join(ROOT, "packaging", "homebrew", PKG + ".rb")
BREW_STUB = os.path.join(HERE, "brew_stub.rb")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def define(name):
    """A number #defined in src/util/defaults.h."""
    m = re.search(r"^#define %s (\d+)\b" % name,
                  read(os.path.join(ROOT, "src", "util", "defaults.h")), re.M)
    if m is None:
        raise AssertionError("%s not found in src/util/defaults.h" % name)
    return int(m.group(1))


def seconds(text):
    """A systemd time span such as 90s, 2min or 90 (seconds)."""
    m = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", text.strip())
    if m is None:
        raise AssertionError("cannot read the time span %r" % text)
    return int(m.group(1)) * (60 if m.group(2) in ("min", "m") else 1)


def parse_unit(text):
    """{section: {key: [values]}}; systemd's syntax, no continuation lines."""
    units, section = {}, None
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = units.setdefault(line[1:-1], {})
            continue
        if section is None or "=" not in line or line.endswith("\\"):
            raise AssertionError("unit line %d: %r" % (n, line))
        k, v = line.split("=", 1)
        section.setdefault(k.strip(), []).append(v.strip())
    return units


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ikvf-install-")
        cls.dest = os.path.join(cls.tmp, "dest")
        cls.build = os.path.join(cls.tmp, "build")
        p = subprocess.run(
            ["make", "--no-print-directory", "-C", ROOT, "install",
             "BUILD=" + cls.build, "DESTDIR=" + cls.dest, "PREFIX=" + PREFIX],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=900)
        cls.make_output = p.stdout
        cls.make_rc = p.returncode

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("INSTALL_TEST_KEEP"):
            print("kept", cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if self.make_rc != 0:
            self.fail("make install failed (%d):\n%s" %
                      (self.make_rc, self.make_output[-4000:]))

    def staged(self, path):
        return os.path.join(self.dest, path.lstrip("/"))

    def private_dir(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    def run_prog(self, argv, env=None, timeout=30):
        e = {"PATH": "/usr/bin:/bin", "HOME": self.private_dir("home"),
             "INFRAKIT_PLUGINS_DIR": self.private_dir("no-plugins")}
        e.update(env or {})
        return subprocess.run(argv, env=e, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)

    def assert_flags_accepted(self, argv, env=None, what=""):
        """The program parses every flag of argv: with --help last it prints
        its flags and exits 0 before doing anything, and an unknown flag or
        a bad value before it exits 2."""
        argv = [self.staged(argv[0])] + list(argv[1:]) + ["--help"]
        p = self.run_prog(argv, env)
        self.assertEqual(p.returncode, 0, "%s: %s\n%s" % (what, argv, p.stdout))
        self.assertIn("serve flags", p.stdout)

    # ---- the tree ---------------------------------------------------------

    def expected(self):
        files = {
            BIN: 0o755,
            PREFIX + "/share/man/man1/" + PKG + ".1": 0o644,
            PREFIX + "/share/man/man8/" + PKG + ".8": 0o644,
            UNIT: 0o644,
            PLIST: 0o644,
            PREFIX + "/share/doc/" + PKG + "/README.md": 0o644,
            PREFIX + "/share/doc/" + PKG + "/LICENSE": 0o644,
        }
        # examples/, when the tree has it, goes to share/PKG/examples.
        ex = os.path.join(ROOT, "examples")
        for d, _, names in os.walk(ex):
            for n in names:
                src = os.path.join(d, n)
                rel = os.path.relpath(src, ex)
                mode = 0o755 if os.stat(src).st_mode & 0o100 else 0o644
                files[PREFIX + "/share/" + PKG + "/examples/" + rel] = mode
        return files

    def test_tree(self):
        got = {}
        for d, dirs, names in os.walk(self.dest):
            for n in dirs:
                p = os.path.join(d, n)
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o755, p)
            for n in names:
                p = os.path.join(d, n)
                st = os.lstat(p)
                self.assertTrue(stat.S_ISREG(st.st_mode), p + " is not a file")
                got["/" + os.path.relpath(p, self.dest)] = stat.S_IMODE(st.st_mode)
        want = self.expected()
        self.assertEqual(sorted(set(got) - set(want)), [], "installed, not expected")
        self.assertEqual(sorted(set(want) - set(got)), [], "expected, not installed")
        for path, mode in sorted(want.items()):
            self.assertEqual(oct(got[path]), oct(mode), path)

    def test_program_runs(self):
        p = self.run_prog([self.staged(BIN), "--help"])
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("usage: " + PKG, p.stdout)
        self.assertIn("serve flags", p.stdout)
        p = self.run_prog([self.staged(BIN), "version"])
        self.assertEqual(p.returncode, 0, p.stdout)
        version = re.search(r"^\s*version\s*:\s*'([^']+)'",
                            read(os.path.join(ROOT, "meson.build")), re.M).group(1)
        self.assertEqual(json.loads(p.stdout)["version"], version)
        # No client without a plugin: exit 3, not a crash.
        p = self.run_prog([self.staged(BIN), "describe"])
        self.assertEqual(p.returncode, 3, p.stdout)
        # No RPATH or RUNPATH into the build directory (meson drops it on
        # install); the debugging information may name it, which is fine.
        if shutil.which("readelf"):
            p = subprocess.run(["readelf", "-d", self.staged(BIN)],
                               stdout=subprocess.PIPE, text=True)
            paths = [l for l in p.stdout.splitlines() if "PATH" in l]
            self.assertFalse([l for l in paths if self.build in l], paths)

    def test_man_pages_are_the_sources(self):
        for sec in ("1", "8"):
            src = os.path.join(ROOT, "docs", "man", PKG + "." + sec)
            dst = self.staged("%s/share/man/man%s/%s.%s" % (PREFIX, sec, PKG, sec))
            with open(src, "rb") as a, open(dst, "rb") as b:
                self.assertEqual(a.read(), b.read(), dst)

    # ---- systemd ----------------------------------------------------------

    def unit(self):
        text = read(self.staged(UNIT))
        self.assertNotRegex(text, r"@[A-Z_]+@", "a placeholder is left")
        return parse_unit(text)

    def exec_start(self, home):
        unit = self.unit()
        argv = shlex.split(unit["Service"]["ExecStart"][0].replace("%h", home))
        env = {}
        for e in unit["Service"].get("Environment", []):
            k, v = e.replace("%h", home).split("=", 1)
            env[k] = v
        return argv, env

    def test_systemd_unit_keys(self):
        u = self.unit()
        svc = u["Service"]
        one = {k: v[-1] for k, v in svc.items()}
        argv = shlex.split(one["ExecStart"])
        self.assertEqual(argv[0], BIN)
        self.assertTrue(os.access(self.staged(argv[0]), os.X_OK), argv[0])
        self.assertEqual(argv[1], "serve")
        self.assertIn("--vm-dir=%h/.infrakit/vmware-fusion/vms", argv)
        self.assertIn("--vm-lib=%h/.infrakit/vmware-fusion/vmx", argv)
        self.assertIn("INFRAKIT_PLUGINS_DIR=%h/.infrakit/plugins", svc["Environment"])
        self.assertEqual(one["Type"], "exec")
        self.assertEqual(one["Restart"], "on-failure")
        self.assertEqual(one["RestartPreventExitStatus"], "2")  # usage errors
        self.assertEqual(one["KillSignal"], "SIGTERM")
        self.assertEqual(one["KillMode"], "process")  # VMs survive a restart
        self.assertEqual(one["StandardError"], "journal")
        # Long enough for the longest wait the plugin schedules (a soft
        # power-off) plus killing a hung command, with room to spare.
        floor = (define("STOP_SOFT_DEFAULT_MS") + define("PROC_KILL_GRACE_MS")) / 1000
        self.assertGreaterEqual(seconds(one["TimeoutStopSec"]), floor + 30)
        self.assertEqual(u["Install"]["WantedBy"], ["default.target"])
        doc = " ".join(u["Unit"]["Documentation"])
        self.assertIn("man:%s(8)" % PKG, doc)
        self.assertIn("man:%s(1)" % PKG, doc)
        self.assert_flags_accepted(*self.exec_start(self.private_dir("home")),
                                   what="ExecStart")

    @unittest.skipUnless(shutil.which("systemd-analyze"), "no systemd-analyze here")
    def test_systemd_analyze_verify(self):
        # The unit as installed, its program moved into the staged tree;
        # MANPATH lets verify find the staged pages of Documentation=.
        d = self.private_dir("verify")
        path = os.path.join(d, PKG + ".service")
        with open(path, "w") as f:
            f.write(read(self.staged(UNIT)).replace(BIN, self.staged(BIN)))
        p = subprocess.run(
            ["systemd-analyze", "--user", "verify", path],
            env=dict(os.environ, XDG_RUNTIME_DIR=d,
                     MANPATH=self.staged(PREFIX + "/share/man")),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=60)
        # verify exits 0 on unknown keys and bad values; any message fails.
        self.assertEqual((p.returncode, p.stdout), (0, ""))

    def test_systemd_exec_start_serves_and_stops(self):
        """ExecStart as systemd runs it (with %h a fresh home, the unit's
        Environment=, and a fake vmrun on PATH), while a provision is stuck
        in a hung vmrun; then KillSignal: a clean exit well within
        TimeoutStopSec, socket and pid file removed."""
        home = self.private_dir("svc-home")
        argv, env = self.exec_start(home)
        argv[0] = self.staged(argv[0])
        fakebin = self.private_dir("svc-bin")
        vmrun = os.path.join(fakebin, "vmrun")
        if not os.path.exists(vmrun):
            os.symlink(os.path.join(ROOT, "tests", "fakes", "fake-vmrun"), vmrun)
        harness.make_template(os.path.join(home, ".infrakit/vmware-fusion/vmx"), "tpl")
        env.update({"PATH": fakebin + ":/usr/bin:/bin", "HOME": home,
                    "FAKE_VMRUN_STATE": self.private_dir("svc-fake"),
                    "FAKE_VMRUN_LOG": os.path.join(self.tmp, "vmrun.log"),
                    "FAKE_VMRUN_HANG_SNAPSHOT": "1", "FAKE_VMRUN_HANG_CLONE": "1"})
        sock = os.path.join(env["INFRAKIT_PLUGINS_DIR"], "vmware-fusion")
        log = open(os.path.join(self.tmp, "svc.log"), "w+")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            harness.wait_until(lambda: os.path.exists(sock), what=sock, timeout=20)
            client = [self.staged(BIN)]
            p = self.run_prog(client + ["describe"], env)
            self.assertEqual(p.returncode, 0, p.stdout)
            spec = os.path.join(self.tmp, "spec.json")
            with open(spec, "w") as f:
                json.dump({"Properties": {"VMX": "tpl"}}, f)
            p = self.run_prog(client + ["provision", spec], env)
            self.assertEqual(p.returncode, 0, p.stdout)
            time.sleep(1.5)  # the worker is in vmrun by now
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=seconds(self.unit()["Service"]["TimeoutStopSec"][-1]))
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.seek(0)
            out = log.read()
            log.close()
        sys.stderr.write("(stopped in %.2f s) " % took)
        self.assertEqual(rc, 0, out)
        # The hung vmrun is killed after PROC_KILL_GRACE_MS; nothing else
        # should take long.
        self.assertLess(took, define("PROC_KILL_GRACE_MS") / 1000 + 8, out)
        self.assertFalse(os.path.exists(sock), "socket left behind")
        self.assertFalse(os.path.exists(sock + ".pid"), "pid file left behind")
        self.assertIn("serving " + sock, out)

    # ---- launchd ----------------------------------------------------------

    def plist(self):
        path = self.staged(PLIST)
        self.assertNotRegex(read(path), r"@[A-Z_]+@", "a placeholder is left")
        if shutil.which("plutil"):
            p = subprocess.run(["plutil", "-lint", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 0, p.stdout)
        with open(path, "rb") as f:
            return plistlib.load(f)  # the schema check: a plist, as XML

    def test_launchd_plist(self):
        pl = self.plist()
        allowed = {"Label", "ProgramArguments", "RunAtLoad", "KeepAlive",
                   "EnvironmentVariables", "StandardOutPath",
                   "StandardErrorPath", "ExitTimeOut"}
        self.assertEqual(sorted(set(pl) - allowed), [], "unexpected keys")
        self.assertEqual(pl["Label"], PKG)
        args = pl["ProgramArguments"]
        self.assertTrue(all(isinstance(a, str) for a in args), args)
        self.assertEqual(args[0], BIN)
        self.assertTrue(os.access(self.staged(args[0]), os.X_OK), args[0])
        self.assertEqual(args[1], "serve")
        self.assertIs(pl["RunAtLoad"], True)
        self.assertEqual(pl["KeepAlive"], {"SuccessfulExit": False})
        log = "/var/log/%s.log" % PKG  # localstatedir/log for PREFIX=/usr
        self.assertEqual(pl["StandardOutPath"], log)
        self.assertEqual(pl["StandardErrorPath"], log)
        self.assertIn("/usr/bin", pl["EnvironmentVariables"]["PATH"].split(":"))
        self.assertEqual(pl["ExitTimeOut"],
                         seconds(self.unit()["Service"]["TimeoutStopSec"][-1]))
        # launchd expands no ~ or $HOME: no path may depend on them.
        self.assertFalse([a for a in args if "~" in a or "$" in a], args)
        self.assert_flags_accepted(args, what="ProgramArguments")

    # ---- Homebrew ---------------------------------------------------------

    def brew(self, mode, os_name, env=None):
        p = subprocess.run(["ruby", BREW_STUB, FORMULA, mode, os_name],
                           env=dict(os.environ, HOME=self.private_dir("brew-home"),
                                    **(env or {})),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=900)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_formula_matches_deps_sh(self):
        """The formula's dependencies are the ones scripts/deps.sh installs
        with brew to build (no ruby needed)."""
        text = read(FORMULA)
        deps = set(re.findall(r'^\s*depends_on "([^"]+)"', text, re.M))
        brew_build = re.search(r'^brew_build="([^"]*)"',
                               read(os.path.join(ROOT, "scripts", "deps.sh")),
                               re.M).group(1).split()
        self.assertEqual(deps, set(brew_build))

    @unittest.skipUnless(shutil.which("ruby"), "ruby is not installed (scripts/deps.sh test installs it)")
    def test_formula_service(self):
        home = self.private_dir("brew-home")
        options = set(re.findall(r"option\('([a-z_]+)'", read(os.path.join(ROOT, "meson_options.txt"))))
        plist = self.plist()
        for os_name, keep in (("macos", {"successful_exit": False}),
                              ("linux", {"crashed": True})):
            d = json.loads(self.brew("describe", os_name))
            self.assertEqual(d["class"], "InfrakitInstanceVmwareFusion")
            self.assertEqual(d["meta"]["license"], "Apache-2.0")
            build = {x["name"] for x in d["deps"] if "build" in x["tags"]}
            run = {x["name"] for x in d["deps"] if not x["tags"]}
            self.assertEqual(build, {"meson", "ninja", "pkg-config"})
            self.assertEqual(run, {"jansson", "libarchive", "libmicrohttpd", "openssl@3"})
            setup = d["install"][0]
            self.assertEqual(setup[:3], ["meson", "setup", "build"])
            for a in setup:
                m = re.match(r"-D([a-z_]+)=", a)
                if m and m.group(1) not in ("werror",):
                    self.assertIn(m.group(1), options, a)
            self.assertIn("-Dtests=false", setup)
            self.assertIn("-Dsystemd_user_unit_dir=no", setup)
            self.assertTrue(d["has_test"])
            s = d["service"]
            self.assertEqual(s["keep_alive"], keep, os_name)
            cmd = s["command"]
            self.assertEqual(cmd[0], "/opt/homebrew/opt/%s/bin/%s" % (PKG, PKG))
            self.assertEqual(cmd[1], "serve")
            # The daemon's defaults, spelled out: what the unit and the
            # plist use (the plist through the defaults).
            self.assertEqual(cmd[cmd.index("--vm-dir") + 1],
                             home + "/.infrakit/vmware-fusion/vms")
            self.assertEqual(cmd[cmd.index("--vm-lib") + 1],
                             home + "/.infrakit/vmware-fusion/vmx")
            log = "/opt/homebrew/var/log/%s.log" % PKG
            self.assertEqual((s["log_path"], s["error_log_path"]), (log, log))
            self.assertTrue(s["environment_variables"]["PATH"].startswith("/opt/homebrew/bin:"))
            # Same flags as the repository's plist, and all accepted.
            flags = [a.split("=")[0] for a in plist["ProgramArguments"][2:]]
            for f in flags:
                self.assertIn(f, cmd, "plist flag %s not in the formula's service" % f)
            self.assert_flags_accepted([BIN] + cmd[1:], what="formula service")
        self.assertEqual(plist["KeepAlive"], {"SuccessfulExit": False})

    @unittest.skipUnless(shutil.which("ruby"), "ruby is not installed (scripts/deps.sh test installs it)")
    def test_formula_install_and_test_block(self):
        """The formula's install steps, run for real on a copy of this tree
        into a keg, then its test block against that keg."""
        src = os.path.join(self.tmp, "brew-src")
        keg = os.path.join(self.tmp, "keg")
        shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", "build*", "vms", ".cache", "__pycache__", "*.iso", "*.vmdk"))
        d = json.loads(self.brew("describe", "macos", {"BREW_STUB_PREFIX": keg}))
        for cmd in d["install"]:
            p = subprocess.run(cmd, cwd=src, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=900)
            self.assertEqual(p.returncode, 0, "%s\n%s" % (cmd, p.stdout[-4000:]))
        files = sorted(os.path.relpath(os.path.join(dp, n), keg)
                       for dp, _, names in os.walk(keg) for n in names)
        self.assertIn("bin/" + PKG, files)
        self.assertIn("share/man/man8/%s.8" % PKG, files)
        self.assertIn("share/man/man1/%s.1" % PKG, files)
        self.assertFalse([f for f in files if f.startswith("lib/systemd")], files)
        out = self.brew("test", "macos", {"BREW_STUB_PREFIX": keg})
        self.assertIn("test block passed", out)


if __name__ == "__main__":
    unittest.main()
