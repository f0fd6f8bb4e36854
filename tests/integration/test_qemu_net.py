#!/usr/bin/env python3
"""The QEMU backend's guests are reachable (issue 13): the real plugin runs
real QEMU (TCG) with the tiny guest (scripts/mk-tiny.sh), on a copy of its
template whose disk is on IDE (so the guest sees it as /dev/sda).

User mode (the default), one scenario:
  1. Provision with SSHAuthorizedKeys (a key pair made here), an Init and
     a LogicalID: Describe shows Ready true and SSH "127.0.0.1:PORT"; ssh
     to it prints the LogicalID from /etc/hostname; the serial log shows
     the multipart user-data (the keys' cloud-config and the Init, which
     ran); Describe's MAC is the NIC's, in QEMU's command line and in the
     guest; the disk is a linked qcow2 overlay on the template's;
  2. the console socket accepts a connection and shows a login prompt
     after a newline;
  3. kill -9 and restart of the plugin: the same port, Ready, SSH works;
  4. a marker written over SSH to /dev/sda; Machine.Stop then
     Machine.Start: a new QEMU on the same disk, the same port, Ready
     again, and the marker reads back over SSH;
  5. another instance with Clone "full" (a standalone qcow2) and LaunchGUI
     on this headless plugin (no DISPLAY): VNC on 127.0.0.1, its address
     logged and in vnc.address, an RFB banner there; destroyed right after
     its QEMU started, before the guest listens to the power button: QEMU
     exits within the soft power-off budget (the button is pressed again),
     not after it.
Open errors (no VM): --qemu /bad/path and bad --qemu-network values stop
the plugin with a message naming the path or the bridge and the fix.
Bridge mode (root only, else skipped with the reason): a network
namespace with a bridge, an address and dnsmasq on it (lease file in the
test's directory); the plugin runs inside it with --qemu-network
bridge=BR,leases=FILE and a private /etc (an overlay holding
qemu/bridge.conf "allow BR"); two guests get leases, Describe reports both
IPs (SSH "IP:22"), and A pings B and connects to B's SSH port.
Everything made is removed: VMs, plugin, dnsmasq, the namespace.

Timings printed: Provision -> Ready, an SSH round trip. Env: TINY_VMLIB.
Exit 77 when qemu, qemu-img, xorriso, ssh or ssh-keygen are missing or the
template cannot be built.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

import harness
import test_qemu as tq

SKIP = 77
STOP_TIMEOUT = 30
READY_TIMEOUT = 150   # Provision -> Ready under TCG on 2 busy cores
POLL = "500ms"
MARKER_OFFSET = 8 * 1024 * 1024  # where the disk marker is written


def log(msg):
    print("qemu-net: " + msg, flush=True)


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, **kw)


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def make_disk_template(lib):
    """tinydisk: the tiny template with its disk on ide0:0 (a copy in the
    bundle, as the plugin requires of every disk: 64 KiB) and its ISO by
    absolute path to the cached build (CD-ROM images may live anywhere).
    Returns the template's disk."""
    src = tq.TEMPLATE_DIR
    text = ('.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "18"\n'
            'displayName = "tinydisk"\nguestOS = "other5xlinux-64"\nmemsize = "256"\n'
            'numvcpus = "1"\nbios.bootOrder = "cdrom"\n'
            'ide0:0.present = "TRUE"\nide0:0.fileName = "tiny.vmdk"\n'
            'ide1:0.present = "TRUE"\nide1:0.deviceType = "cdrom-image"\n'
            'ide1:0.fileName = "%s/tiny.iso"\n'
            'ethernet0.present = "TRUE"\nethernet0.connectionType = "nat"\n'
            'ethernet0.virtualDev = "e1000"\nethernet0.addressType = "generated"\n'
            'guestinfo.infrakit.ssh-user = "root"\n') % src
    vmx = harness.make_template(lib, "tinydisk", text=text)
    disk = os.path.join(os.path.dirname(vmx), "tiny.vmdk")
    shutil.copyfile(os.path.join(src, "tiny.vmdk"), disk)
    return disk


class Net(harness.PluginTest):
    start_plugin = False
    maxDiff = None
    netns = None

    def setUp(self):
        super().setUp()
        self.base = os.path.realpath(self.base)
        self.c = None
        self.key = os.path.join(self.base, "id_ed25519")
        r = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "qemu-net", "-f",
                 self.key])
        self.assertEqual(r.returncode, 0, r.stdout)
        with open(self.key + ".pub") as f:
            self.pub = f.read().strip()

    def tearDown(self):
        try:
            self.destroy_everything()
        finally:
            if self.c is not None:
                self.c.close()
                self.c = None
            left = tq.kill_leftovers(self.base)
            try:
                super().tearDown()
            finally:
                self.cleanup_net()
        self.assertEqual(left, set(), "QEMU processes were left running")

    def cleanup_net(self):
        pass

    def destroy_everything(self):
        if getattr(self, "p", None) is None or self.p.proc is None or \
                self.p.proc.poll() is not None:
            return
        try:
            c = self.p.client()
            for d in c.describe(all_=True):
                c.destroy(d["ID"])
            harness.wait_until(lambda: not tq.qemu_procs(self.base) and not c.describe(all_=True),
                               timeout=STOP_TIMEOUT + 30, interval=0.2, what="cleanup destroy")
            c.close()
        except Exception as e:  # noqa: BLE001 - cleanup goes on
            log("cleanup: destroy through the plugin failed: %r" % e)

    # helpers

    def plugin(self, args=(), cls=harness.Plugin):
        lib = os.path.join(self.base, "lib")
        self.template_disk = make_disk_template(lib)
        # A host without a window system, whatever runs the test.
        p = cls(self.base, binary=harness.PLUGIN_BIN, backend="qemu", vm_lib=lib,
                vm_dir=os.path.join(self.base, "vms"), poll=POLL,
                args=["--stop-timeout", "%ds" % STOP_TIMEOUT, "--guest-key", "none"] +
                list(args),
                env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
        self.plugins_started.append(p)
        self.p = p
        return p

    def start(self):
        self.p.start()
        if self.c is not None:
            self.c.close()
        self.c = self.p.client(timeout=90)

    def props(self, iid):
        for d in self.c.describe(props=True, all_=True):
            if d["ID"] == iid:
                return d["Properties"]
        return {}

    def wait_ready(self, iid, t0, what="Ready"):
        def ready():
            pr = self.props(iid)
            if pr.get("State") == "failed":
                self.fail("%s failed: %s\n%s" % (iid, pr, self.p.log()[-4000:]))
            return pr if pr.get("Ready") is True and pr.get("SSH") else None
        try:
            pr = harness.wait_until(ready, timeout=READY_TIMEOUT, interval=0.2, what=what)
        except AssertionError:
            self.fail("%s not %s after %d s: %s\nserial:\n%s\nplugin:\n%s" % (
                iid, what, READY_TIMEOUT, self.props(iid), self.serial(iid)[-3000:],
                self.p.log()[-4000:]))
        took = time.monotonic() - t0
        log("%s: %s after %.1f s (SSH %s)" % (iid, what, took, pr["SSH"]))
        return pr, took

    def serial(self, iid):
        try:
            with open(os.path.join(self.p.bundle(iid), "serial.log"), "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r", "")
        except OSError:
            return ""

    def ssh_argv(self, host, port, cmd):
        return ["ssh", "-F", "/dev/null", "-p", str(port), "-i", self.key,
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "root@" + host, cmd]

    def ssh(self, addr, cmd, prefix=()):
        host, port = addr.rsplit(":", 1)
        t0 = time.monotonic()
        r = run(list(prefix) + self.ssh_argv(host, port, cmd), timeout=60)
        return r, time.monotonic() - t0

    def provision(self, logical_id, init, props=None):
        p = {"VMX": "tinydisk", "MemorySizeMBs": 256, "SSHAuthorizedKeys": [self.pub]}
        p.update(props or {})
        t0 = time.monotonic()
        iid = self.c.provision(p, tags={"infrakit.group": "qemu-net"}, init=init,
                               logical_id=logical_id)["ID"]
        return iid, t0

    def qemu_argv(self, iid):
        pid = tq.read_pid(os.path.join(self.p.bundle(iid), "qemu.pid"))
        self.assertIsNotNone(pid)
        return pid, tq.cmdline(pid)

    def check_user_data(self, iid, marker):
        text = self.serial(iid)
        for want in ('user-data: part 1 text/cloud-config "ssh-authorized-keys.cfg": '
                     "cloud-config, 1 ssh_authorized_keys",
                     'user-data: part 2 text/x-shellscript "infrakit-init": shell script',
                     "ssh: 1 authorized key(s) for root", "ssh: ready on port 22"):
            self.assertIn(want, text, "serial log of %s" % iid)
        self.assertRegex(text, r"(?m)^=== user-data begin ===\n%s\n=== user-data end "
                         r"\(exit 0\) ===$" % re.escape(marker))
        self.assertRegex(text, r"(?m)^init: done rc=0$")

    def console_prompt(self, iid):
        """Connects to the console socket, sends a newline, expects the
        login prompt."""
        harness.wait_until(lambda: re.search(r"(?m)^tiny: ready$(?s:.*) login: ",
                                             self.serial(iid)),
                           timeout=60, what="login prompt in serial.log")
        path = os.path.join(self.p.bundle(iid), "console.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.5)
        s.connect(path)
        buf = ""
        try:
            s.sendall(b"\r")
            end = time.monotonic() + 30
            while time.monotonic() < end and not re.search(r"\S+ login: ", buf):
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                buf += chunk.decode("utf-8", "replace")
        finally:
            s.close()
        m = re.search(r"(\S+) login: ", buf)
        self.assertIsNotNone(m, "no login prompt on the console: %r" % buf)
        return m.group(1)

    def disk_backing(self, iid, name):
        r = run(["qemu-img", "info", "--force-share", "--output=json",
                 os.path.join(self.p.bundle(iid), name)])
        self.assertEqual(r.returncode, 0, r.stdout)
        return json.loads(r.stdout).get("backing-filename")


class UserMode(Net):
    """The user-mode scenario 1-5 (module docstring)."""

    def test_user_mode(self):
        t_all = time.monotonic()
        self.plugin()
        self.start()

        # 1. Provision -> Ready, SSH through the forwarded port.
        iid, t0 = self.provision("tiny-net-a", "echo init-ran-$((6*7))")
        pr, t_ready = self.wait_ready(iid, t0)
        self.assertRegex(pr["SSH"], r"^127\.0\.0\.1:\d+$")
        port = int(pr["SSH"].split(":")[1])
        self.assertTrue(24022 <= port <= 32767, port)
        self.assertNotIn("IP", pr)
        r, rtt = self.ssh(pr["SSH"], "cat /etc/hostname")
        self.assertEqual((r.returncode, r.stdout), (0, "tiny-net-a\n"), r.stdout)
        log("ssh round trip (cat /etc/hostname): %.2f s" % rtt)
        self.check_user_data(iid, "init-ran-42")
        # The MAC: Describe's is the NIC's, as QEMU and the guest see it.
        pid, argv = self.qemu_argv(iid)
        nic = argv[argv.index("-nic") + 1]
        self.assertIn("mac=%s," % pr["MAC"], nic)
        self.assertIn("hostfwd=tcp:127.0.0.1:%d-:22" % port, nic)
        r, _ = self.ssh(pr["SSH"], "cat /sys/class/net/eth0/address")
        self.assertEqual(r.stdout.strip(), pr["MAC"])
        # auto: a linked clone (an overlay on the template's disk).
        self.assertEqual(self.disk_backing(iid, "disk-ide-0-0.qcow2"),
                         self.template_disk)

        # 2. The console.
        self.assertEqual(self.console_prompt(iid), "tiny-net-a")
        log("console socket: login prompt")

        # 3. kill -9 and restart: the same port, SSH still works.
        self.p.kill9()
        self.assertTrue(tq.alive(pid))
        self.start()
        pr2, _ = self.wait_ready(iid, time.monotonic(), "Ready after the plugin restart")
        self.assertEqual(pr2["SSH"], pr["SSH"])
        r, _ = self.ssh(pr["SSH"], "cat /etc/hostname")
        self.assertEqual(r.stdout, "tiny-net-a\n")
        self.assertEqual(self.qemu_argv(iid)[0], pid)

        # 4. Machine.Stop and Machine.Start: the same disk, port and SSH.
        mark = "ikvf-%d" % os.getpid()
        r, _ = self.ssh(pr["SSH"], "printf %s | dd of=/dev/sda bs=1 seek=%d conv=notrunc "
                        "2>/dev/null && sync && echo written" % (mark, MARKER_OFFSET))
        self.assertEqual(r.stdout.strip(), "written", r.stdout)
        t0 = time.monotonic()
        self.c.call("Machine.Stop", {"Instance": iid, "Hard": False})
        self.assertFalse(tq.alive(pid))
        log("Machine.Stop (ACPI) took %.1f s" % (time.monotonic() - t0))
        self.assertEqual(self.props(iid).get("PowerState"), "off")
        t0 = time.monotonic()
        self.c.call("Machine.Start", {"Instance": iid})
        pr3, t_restart = self.wait_ready(iid, t0, "Ready after Machine.Start")
        self.assertEqual(pr3["SSH"], pr["SSH"])
        pid2, argv2 = self.qemu_argv(iid)
        self.assertNotEqual(pid2, pid)
        r, _ = self.ssh(pr["SSH"], "dd if=/dev/sda bs=1 skip=%d count=%d 2>/dev/null"
                        % (MARKER_OFFSET, len(mark)))
        self.assertEqual(r.stdout, mark, "the disk lost what was written before the stop")
        # The log kept both runs; readiness came from the second.
        self.assertEqual(len(re.findall(r"(?m)^instance-id: %s$" % iid, self.serial(iid))), 2)

        # 5. An early destroy of a full clone: within the soft budget.
        iid2, _ = self.provision("tiny-net-b", "true", {"Clone": "full", "LaunchGUI": True})
        pidf = os.path.join(self.p.bundle(iid2), "qemu.pid")
        pid3 = harness.wait_until(lambda: tq.read_pid(pidf), timeout=60, interval=0.05,
                                  what="second QEMU started")
        self.assertIsNone(self.disk_backing(iid2, "disk-ide-0-0.qcow2"))
        vncf = os.path.join(self.p.bundle(iid2), "vnc.address")
        addr = harness.wait_until(lambda: read_text(vncf), timeout=30, interval=0.05,
                                  what="vnc.address")
        self.assertRegex(addr, r"^127\.0\.0\.1:59\d\d\n$")
        self.assertIn("instance %s: LaunchGUI, but no window system here (no DISPLAY): its "
                      "screen is on VNC at %s" % (iid2, addr.strip()), self.p.log())
        with socket.create_connection(("127.0.0.1", int(addr.split(":")[1])), timeout=10) as v:
            self.assertEqual(v.recv(12)[:4], b"RFB ")
        t0 = time.monotonic()
        self.c.destroy(iid2)
        harness.wait_until(lambda: not tq.alive(pid3), timeout=STOP_TIMEOUT + 30,
                           interval=0.1, what="early-destroyed QEMU gone")
        took = time.monotonic() - t0
        log("destroy right after QEMU started: QEMU exited after %.1f s" % took)
        self.assertLess(took, STOP_TIMEOUT - 5)
        self.assertNotIn("instance %s: soft power-off failed" % iid2, self.p.log())
        log("user mode: Provision -> Ready %.1f s; Machine.Start -> Ready %.1f s; "
            "scenario %.0f s" % (t_ready, t_restart, time.monotonic() - t_all))


class OpenErrors(Net):
    """Unusable --qemu and --qemu-network values: the plugin does not start,
    and says why."""

    def test_open_errors(self):
        cases = [
            (["--qemu", "/bad/path"], "--backend qemu: qemu-system-x86_64 not found at "
             "/bad/path: No such file or directory (--qemu names the qemu-system-x86_64 "
             "program itself)"),
            (["--qemu-network", "tap"], "--backend qemu: --qemu-network tap: use user or "
             "bridge=NAME[,leases=FILE][,helper=PATH]"),
            (["--qemu-network", "bridge=ikvfnone0"], "--backend qemu: --qemu-network "
             "bridge=ikvfnone0: there is no network interface ikvfnone0: create the bridge"),
            (["--qemu-network", "bridge=lo"], "--backend qemu: --qemu-network bridge=lo: lo "
             "is not a bridge"),
        ]
        for i, (args, want) in enumerate(cases):
            p = harness.Plugin(os.path.join(self.base, str(i)), binary=harness.PLUGIN_BIN,
                               backend="qemu", args=args)
            rc = p.start(expect_fail=True)
            self.assertNotEqual(rc, 0, p.log())
            self.assertIn(want, p.log())
            p.check_log_clean()


class NsPlugin(harness.Plugin):
    """The plugin inside a network namespace, with a private /etc that has
    qemu/bridge.conf (an overlay, in the mount namespace ip netns exec
    makes)."""

    netns = None
    etc_upper = None
    etc_work = None

    def cmdline(self):
        script = ('mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc '
                  '&& exec "$@"' % (self.etc_upper, self.etc_work))
        return ["ip", "netns", "exec", self.netns, "sh", "-c", script, "sh"] + \
            super().cmdline()


class BridgeMode(Net):
    """Two guests on a bridge with dnsmasq in a namespace of the test's."""

    def cleanup_net(self):
        pid = getattr(self, "dnsmasq_pid", None)
        if pid:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        if self.netns:
            run(["ip", "netns", "del", self.netns])

    def ns(self, *argv, timeout=60):
        return run(["ip", "netns", "exec", self.netns] + list(argv), timeout=timeout)

    def setup_netns(self):
        self.netns = "ikvf-%d" % os.getpid()
        br, net = "ikvfbr0", "10.213.77"
        for argv in (["ip", "netns", "add", self.netns],):
            r = run(argv)
            self.assertEqual(r.returncode, 0, r.stdout)
        for argv in (["ip", "link", "set", "lo", "up"],
                     ["ip", "link", "add", br, "type", "bridge"],
                     ["ip", "addr", "add", net + ".1/24", "dev", br],
                     ["ip", "link", "set", br, "up"]):
            r = self.ns(*argv)
            self.assertEqual(r.returncode, 0, "%s: %s" % (argv, r.stdout))
        leases = os.path.join(self.base, "dnsmasq.leases")
        pidf = os.path.join(self.base, "dnsmasq.pid")
        r = self.ns("dnsmasq", "--conf-file=/dev/null", "--port=0", "--no-resolv",
                    "--no-hosts", "--user=root", "--interface=" + br, "--bind-interfaces",
                    "--except-interface=lo",
                    "--dhcp-range=%s.100,%s.150,255.255.255.0,1h" % (net, net),
                    "--dhcp-leasefile=" + leases, "--pid-file=" + pidf,
                    "--log-facility=" + os.path.join(self.base, "dnsmasq.log"),
                    "--log-dhcp")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.dnsmasq_pid = harness.wait_until(lambda: tq.read_pid(pidf), timeout=10,
                                              what="dnsmasq pid file")
        upper = os.path.join(self.base, "etc-upper")
        os.makedirs(os.path.join(upper, "qemu"))
        os.makedirs(os.path.join(self.base, "etc-work"))
        with open(os.path.join(upper, "qemu", "bridge.conf"), "w") as f:
            f.write("allow %s\n" % br)
        return br, net, leases

    def test_bridge(self):
        if os.geteuid() != 0:
            self.skipTest("bridge mode needs root here (network namespace, bridge, dnsmasq)")
        for tool in ("ip", "dnsmasq"):
            if shutil.which(tool) is None:
                self.skipTest("%s not installed (scripts/deps.sh test)" % tool)
        if not os.path.exists("/usr/lib/qemu/qemu-bridge-helper"):
            self.skipTest("no /usr/lib/qemu/qemu-bridge-helper")
        br, net, leases = self.setup_netns()
        p = self.plugin(["--qemu-network", "bridge=%s,leases=%s" % (br, leases)],
                        cls=NsPlugin)
        p.netns = self.netns
        p.etc_upper = os.path.join(self.base, "etc-upper")
        p.etc_work = os.path.join(self.base, "etc-work")
        self.start()
        started = [self.provision("tiny-br-%s" % n, "echo init-%s" % n) for n in "ab"]
        ready = {}
        for iid, t0 in started:
            pr, took = self.wait_ready(iid, t0)
            ready[iid] = pr
            self.assertTrue(pr.get("IP", "").startswith(net + "."), pr)
            self.assertEqual(pr["SSH"], pr["IP"] + ":22")
            pid, argv = self.qemu_argv(iid)
            self.assertIn("bridge,br=%s,helper=" % br, argv[argv.index("-nic") + 1])
            self.assertIn("mac=" + pr["MAC"], argv[argv.index("-nic") + 1])
        a, b = (ready[i] for i, _ in started)
        self.assertNotEqual(a["IP"], b["IP"])
        with open(leases) as f:
            text = f.read()
        for pr in (a, b):
            self.assertRegex(text, r"(?m)^\d+ %s %s " % (pr["MAC"], re.escape(pr["IP"])))
        # B's SSH banner over TCP from A (busybox nc: no -z).
        r, rtt = self.ssh(a["SSH"], "cat /etc/hostname; ping -c1 -W5 %s >/dev/null && "
                          "echo ping-ok; (sleep 3) | nc -w 5 %s 22 | head -c 8; echo"
                          % (b["IP"], b["IP"]), prefix=["ip", "netns", "exec", self.netns])
        self.assertEqual(r.stdout.split(), ["tiny-br-a", "ping-ok", "SSH-2.0-"], r.stdout)
        log("bridge: A %s reached B %s (ping, TCP 22); ssh round trip %.2f s"
            % (a["IP"], b["IP"], rtt))


def main():
    for tool in ("qemu-system-x86_64", "qemu-img", "xorriso", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            log("SKIP: %s not installed (scripts/deps.sh test)" % tool)
            sys.exit(SKIP)
    why = tq.build_template()
    if why:
        log("SKIP: " + why)
        sys.exit(SKIP)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
