#!/usr/bin/env python3
"""The QEMU backend end to end: the real plugin (--backend qemu) runs real
QEMU processes from the tiny template (scripts/mk-tiny.sh), each with its own
seed ISO, and the guests prove through their serial consoles that they got
their own instance-id and ran their own Init.

One scenario, so that the 2-core TCG budget pays for four boots only:
  a. 3 instances, each with its own Init: 3 QEMU processes (qemu.pid,
     /proc), each serial log shows its own instance-id and Init output
     (exit 0); Describe with Properties: 3 running, with their .vmx files;
  b. one VM paused through its QMP socket (outside the plugin) is no longer
     reported; a replacement boots; `cont` brings the paused one back (4);
  c. Destroy: QEMU exits within the soft power-off budget (ACPI), the
     instance directory goes, the template's files are unchanged;
  d. kill -9 of the plugin with 3 VMs running, restart: the same 3 reported
     once each, the same QEMU PIDs and no new ones, destroy still works;
  e. boot times under TCG (Provision RPC -> "instance-id:" on the serial
     console) are printed.
Cleanup always destroys everything and, last, kills any QEMU whose pidfile
is under the test's temporary directory.

Env: TINY_VMLIB (template library, default REPO/vmx: the cached build is
reused). Python 3 stdlib only. Exit 77 (skip) when qemu-system-x86_64,
qemu-img or xorriso is missing, or when the template cannot be built
(offline).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

import harness

SKIP = 77
VMLIB = os.path.abspath(os.environ.get("TINY_VMLIB") or os.path.join(harness.REPO_DIR, "vmx"))
TEMPLATE_DIR = os.path.join(VMLIB, "tiny.vmwarevm")
STOP_TIMEOUT = 30     # --stop-timeout: the soft (ACPI) power-off budget, s
BOOT_TIMEOUT = 150    # provision -> "tiny: ready", s (TCG, 4 guests on 2 cores)
POLL = "500ms"
PROPS = {"VMX": "tiny", "MemorySizeMBs": 256}
G = {"infrakit.group": "qemu-e2e"}


def log(msg):
    print("qemu: " + msg, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- processes ---------------------------------------------------------------

def proc_state(pid):
    """The state letter of pid from /proc, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    s = proc_state(pid)
    return s is not None and s != "Z"


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def qemu_procs(marker):
    """PIDs of live QEMU processes whose command line mentions marker."""
    out = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        argv = cmdline(pid)
        if (argv and "qemu-system" in os.path.basename(argv[0]) and
                any(marker in a for a in argv) and alive(pid)):
            out.add(pid)
    return out


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def kill_leftovers(base):
    """Last resort: SIGKILL each live QEMU whose pidfile is under base (and
    whose command line says it is that VM's), by PID."""
    pids = set()
    for root, _, files in os.walk(base):
        if "qemu.pid" in files:
            pid = read_pid(os.path.join(root, "qemu.pid"))
            if pid is not None and alive(pid) and any(root in a for a in cmdline(pid)):
                pids.add(pid)
    pids |= qemu_procs(base)
    for pid in pids:
        log("cleanup: killing leftover QEMU %d" % pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    return pids


# --- QMP (outside the plugin) ------------------------------------------------

class QMP:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        greeting = self._read()
        if "QMP" not in greeting:
            raise AssertionError("unexpected QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise AssertionError("QMP %s: %s" % (name, reply["error"]))
            return reply.get("return")

    def close(self):
        self.sock.close()


def qmp(path, name):
    q = QMP(path)
    try:
        return q.cmd(name)
    finally:
        q.close()


# --- the test ----------------------------------------------------------------

class QemuCase(harness.PluginTest):
    """A qemu-backend plugin on the tiny template, and the helpers."""

    start_plugin = False
    maxDiff = None

    def setUp(self):
        super().setUp()
        self.base = os.path.realpath(self.base)
        self.p = self.new_plugin(binary=harness.PLUGIN_BIN, backend="qemu", vm_lib=VMLIB,
                                 vm_dir=os.path.join(self.base, "vms"), poll=POLL,
                                 args=["--stop-timeout", "%ds" % STOP_TIMEOUT])
        self.c = None
        self.template_sums = {n: sha256(os.path.join(TEMPLATE_DIR, n))
                              for n in ("tiny.vmdk", "tiny.iso")}

    def tearDown(self):
        try:
            self.destroy_everything()
        finally:
            if self.c is not None:
                self.c.close()
                self.c = None
            left = kill_leftovers(self.base)
            super().tearDown()
        self.assertEqual(left, set(), "QEMU processes were left running")

    def destroy_everything(self):
        if self.p.proc is None or self.p.proc.poll() is not None:
            return
        try:
            c = self.p.client()
            for d in c.describe(all_=True):
                c.destroy(d["ID"])
            harness.wait_until(lambda: not qemu_procs(self.base) and not c.describe(all_=True),
                               timeout=STOP_TIMEOUT + 30, interval=0.2, what="cleanup destroy")
            c.close()
        except Exception as e:  # noqa: BLE001 - cleanup goes on
            log("cleanup: destroy through the plugin failed: %r" % e)

    # helpers

    def start_plugin_(self):
        self.p.start()
        if self.c is not None:
            self.c.close()
        self.c = self.p.client()

    def serial(self, iid):
        try:
            with open(os.path.join(self.p.bundle(iid), "serial.log"), "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r\n", "\n")
        except OSError:
            return ""

    def pid(self, iid):
        return read_pid(os.path.join(self.p.bundle(iid), "qemu.pid"))

    def provision(self, n):
        """Provisions instance number n; returns (id, time of the RPC)."""
        t0 = time.monotonic()
        iid = self.c.provision(PROPS, tags=dict(G, n=str(n)),
                               init="echo init-of-%d $(cat /proc/cmdline | wc -c)" % n)["ID"]
        return iid, t0

    def wait_booted(self, started):
        """started: {id: (n, t0)}. Waits until each guest is ready; returns
        {id: boot time}, the time from the Provision RPC to its instance-id
        line on the serial console."""
        boot = {}
        end = time.monotonic() + BOOT_TIMEOUT
        pending = set(started)
        while pending and time.monotonic() < end:
            now = time.monotonic()
            for iid in list(pending):
                text = self.serial(iid)
                if iid not in boot and re.search(r"^instance-id: ", text, re.M):
                    boot[iid] = now - started[iid][1]
                if "tiny: ready" in text or "tiny: no cidata seed found" in text:
                    pending.discard(iid)
            time.sleep(0.1)
        for iid in pending:
            self.fail("%s not ready after %d s; serial log:\n%s\nplugin log:\n%s"
                      % (iid, BOOT_TIMEOUT, self.serial(iid), self.p.log()[-4000:]))
        for iid, (n, t0) in started.items():
            self.check_serial(iid, n)
            log("boot time under TCG of %s (instance %d): %.1f s (Provision RPC -> "
                "'instance-id:' on the serial console)" % (iid, n, boot[iid]))
        return boot

    def check_serial(self, iid, n):
        text = self.serial(iid)
        ids = re.findall(r"^instance-id: (.*?)$", text, re.M)
        self.assertEqual(ids, [iid], "instance-id lines of %s:\n%s" % (iid, text))
        m = re.search(r"^=== user-data begin ===\n(.*?)^=== user-data end \(exit (\d+)\) ===",
                      text, re.M | re.S)
        self.assertIsNotNone(m, "no user-data markers in the serial log of %s:\n%s"
                             % (iid, text))
        self.assertEqual(m.group(2), "0", "user-data exit status of %s" % iid)
        self.assertRegex(m.group(1), r"(?m)\Ainit-of-%d [1-9][0-9]*$" % n)
        self.assertEqual(re.findall(r"init-of-(\d+)", text), [str(n)],
                         "%s ran someone else's Init:\n%s" % (iid, text))
        self.assertIn("tiny: ready", text)

    def check_qemu(self, iid):
        """Its QEMU runs: the PID of its pidfile is a live qemu-system
        process of this bundle, named after the instance."""
        pid = self.pid(iid)
        self.assertIsNotNone(pid, "no qemu.pid for " + iid)
        self.assertTrue(alive(pid), "QEMU %d of %s is not running" % (pid, iid))
        argv = cmdline(pid)
        self.assertIn("qemu-system", os.path.basename(argv[0]))
        self.assertIn(iid, argv[argv.index("-name") + 1])
        self.assertTrue(any(self.p.bundle(iid) in a for a in argv), argv)
        self.assertTrue(any(a.endswith("/seed.iso,format=raw,if=ide,index=3,media=cdrom,"
                                       "readonly=on") for a in argv), argv)
        return pid

    def described(self):
        """{id: Properties} of what Describe reports, each ID once."""
        ds = self.c.describe(tags=G, props=True)
        ids = [d["ID"] for d in ds]
        self.assertEqual(len(ids), len(set(ids)), "an instance reported twice: %s" % ids)
        return {d["ID"]: d["Properties"] for d in ds}

    def check_described_running(self, ids):
        props = self.described()
        self.assertEqual(sorted(props), sorted(ids))
        for iid in ids:
            pr = props[iid]
            self.assertEqual(pr.get("State"), "running", pr)
            self.assertEqual(pr.get("PowerState"), "running", pr)
            self.assertEqual(pr.get("Backend"), "qemu", pr)
            self.assertEqual(pr.get("VMX"), os.path.join(self.p.bundle(iid), iid + ".vmx"))
            self.assertTrue(os.path.isfile(pr["VMX"]), pr["VMX"])

    def destroy_and_measure(self, ids):
        """Destroys ids at once; returns {id: seconds until its QEMU exited}."""
        pids = {iid: self.pid(iid) for iid in ids}
        for iid in ids:
            self.assertTrue(alive(pids[iid]))
        t0 = time.monotonic()
        for iid in ids:
            self.c.destroy(iid)
        # Gone from Describe at once.
        self.assertEqual(set(self.described()) & set(ids), set())
        took = {}
        end = t0 + STOP_TIMEOUT + 30
        while len(took) < len(ids) and time.monotonic() < end:
            for iid in ids:
                if iid not in took and not alive(pids[iid]):
                    took[iid] = time.monotonic() - t0
            time.sleep(0.05)
        for iid in ids:
            self.assertIn(iid, took, "QEMU %d of %s still runs %d s after Destroy"
                          % (pids[iid], iid, STOP_TIMEOUT + 30))
            log("destroy of %s: QEMU exited %.1f s after the Destroy RPC" % (iid, took[iid]))
            # The ACPI power-off did it, within its budget (a hard stop
            # only starts once the budget is spent).
            self.assertLess(took[iid], STOP_TIMEOUT, "%s needed the hard stop" % iid)
        harness.wait_until(lambda: not any(os.path.exists(os.path.join(self.p.vm_dir, i))
                                           for i in ids),
                           timeout=30, what="instance directories removed")
        harness.wait_until(lambda: not any(d["ID"] in ids for d in self.c.describe(all_=True)),
                           timeout=30, what="records removed")
        log_text = self.p.log()
        for iid in ids:
            self.assertNotIn("instance %s: soft power-off failed" % iid, log_text)
        return took

    def check_template_unchanged(self):
        for n, want in self.template_sums.items():
            self.assertEqual(sha256(os.path.join(TEMPLATE_DIR, n)), want,
                             "the template's %s changed" % n)


class QemuBackend(QemuCase):
    """The scenario a-e (module docstring)."""

    def test_qemu_backend(self):
        t_all = time.monotonic()
        self.start_plugin_()

        # a. Three instances, each with its own Init.
        started = {}
        for n in (1, 2, 3):
            iid, t0 = self.provision(n)
            started[iid] = (n, t0)
        ids = sorted(started)
        self.assertEqual(len(set(ids)), 3)
        boot = self.wait_booted(started)
        pids = {iid: self.check_qemu(iid) for iid in ids}
        self.assertEqual(len(set(pids.values())), 3, pids)
        self.assertEqual(qemu_procs(self.base), set(pids.values()))
        harness.wait_until(lambda: all(p.get("PowerState") == "running"
                                       for p in self.described().values()),
                           timeout=10, what="power state refreshed")
        self.check_described_running(ids)
        for iid in ids:
            b = self.p.bundle(iid)
            for f in ("disk-scsi-0-0.qcow2", "seed.iso", "serial.log", "qmp.sock"):
                self.assertTrue(os.path.exists(os.path.join(b, f)), os.path.join(b, f))
        log("a: 3 VMs running (PIDs %s)" % sorted(pids.values()))

        # b. Pause one behind the plugin's back: no longer reported.
        paused = ids[0]
        sock = os.path.join(self.p.bundle(paused), "qmp.sock")
        qmp(sock, "stop")
        self.assertEqual(qmp(sock, "query-status")["status"], "paused")
        harness.wait_until(lambda: paused not in self.described(), timeout=10,
                           what="paused VM no longer reported")
        self.assertEqual(sorted(self.described()), ids[1:])
        # Still there, not destroyed: the plugin does not touch it.
        self.assertIn(paused, [d["ID"] for d in self.c.describe(all_=True)])
        self.assertTrue(alive(pids[paused]))
        # The group's replacement boots.
        repl, t0 = self.provision(4)
        boot.update(self.wait_booted({repl: (4, t0)}))
        pids[repl] = self.check_qemu(repl)
        self.assertEqual(len(set(pids.values())), 4)
        # The paused VM runs again: reported again.
        qmp(sock, "cont")
        harness.wait_until(lambda: paused in self.described(), timeout=10,
                           what="resumed VM reported again")
        self.check_described_running(ids + [repl])
        self.assertEqual(qemu_procs(self.base), set(pids.values()))
        log("b: paused VM dropped, replacement %s booted, resumed VM back: 4 reported" % repl)

        # c. Destroy one: ACPI power-off within the budget, directory gone.
        took = self.destroy_and_measure([paused])
        self.check_template_unchanged()
        running = sorted(ids[1:] + [repl])
        self.check_described_running(running)
        log("c: destroyed %s in %.1f s" % (paused, took[paused]))

        # d. kill -9 of the plugin while 3 VMs run; restart re-attaches.
        live = {iid: pids[iid] for iid in running}
        self.p.kill9()
        time.sleep(1)
        for iid, pid in live.items():
            self.assertTrue(alive(pid), "QEMU of %s died with the plugin" % iid)
        self.start_plugin_()
        # Power is unknown until the first refresh after the restart lands
        # (the service skips instances whose address probe is in flight).
        harness.wait_until(lambda: sorted(self.described()) == running and
                           all(p.get("PowerState") == "running"
                               for p in self.described().values()), timeout=15,
                           what="the same 3 reported, running, after the restart")
        self.check_described_running(running)
        # No QEMU started or restarted: the same PIDs, nothing new, also a
        # few refreshes later.
        for _ in range(2):
            self.assertEqual(qemu_procs(self.base), set(live.values()))
            self.assertEqual({iid: self.pid(iid) for iid in running}, live)
            self.assertEqual(sorted(self.described()), running)
            time.sleep(2)
        for iid in running:
            self.assertEqual(re.findall(r"^instance-id: (.*?)$", self.serial(iid), re.M), [iid],
                             "%s booted again" % iid)
        took.update(self.destroy_and_measure(running))
        self.assertEqual(self.c.describe(all_=True), [])
        self.assertEqual(qemu_procs(self.base), set())
        # Nothing of the instances is left; the audit log keeps their
        # destroys (it is never truncated).
        self.assertEqual(sorted(n for n in os.listdir(self.p.vm_dir)
                                if not n.startswith(".") and n != "audit.log"), [])
        with open(os.path.join(self.p.vm_dir, "audit.log")) as f:
            audited = f.read()
        for iid in running:
            self.assertIn('"%s"' % iid, audited)
        self.check_template_unchanged()
        log("d: restart re-attached to %s; destroyed in %s" %
            (running, ", ".join("%.1f s" % took[i] for i in running)))

        # e. The numbers.
        log("boot times under TCG (Provision RPC -> instance-id): %s" %
            ", ".join("%.1f s" % boot[i] for i in sorted(boot)))
        log("destroy times (Destroy RPC -> QEMU exited): %s" %
            ", ".join("%.1f s" % took[i] for i in sorted(took)))
        log("scenario took %.0f s" % (time.monotonic() - t_all))


class HungQemu(QemuCase):
    """A QEMU that hangs (SIGSTOP: QMP accepts no connection, its listen
    backlog fills up) is still destroyed: the soft power-off and quit fail
    by their deadlines, then the plugin kills the verified PID."""

    def test_destroy_hung_qemu(self):
        self.start_plugin_()
        iid, t0 = self.provision(1)
        self.wait_booted({iid: (1, t0)})
        pid = self.check_qemu(iid)
        os.kill(pid, signal.SIGSTOP)
        try:
            # Several refreshes pile connections up on the hung QMP socket;
            # the VM is not taken for powered off (its state is unknown).
            time.sleep(4)
            self.assertIn(iid, self.described())
            harness.wait_until(lambda: self.described().get(iid, {}).get("PowerState")
                               == "unknown", timeout=20, what="power state unknown")
            self.assertEqual(proc_state(pid), "T")
            t0 = time.monotonic()
            self.c.destroy(iid)
            self.assertNotIn(iid, self.described())
            # 5 s (powerdown over QMP) + 5 s (quit) + 10 s (quit wait),
            # then SIGKILL.
            harness.wait_until(lambda: not alive(pid), timeout=60, interval=0.1,
                               what="hung QEMU %d killed" % pid)
            took = time.monotonic() - t0
            log("destroy of a hung QEMU: killed %.1f s after the Destroy RPC" % took)
            harness.wait_until(lambda: not os.path.exists(os.path.join(self.p.vm_dir, iid)),
                               timeout=30, what="instance directory removed")
            harness.wait_until(lambda: self.c.describe(all_=True) == [], timeout=30,
                               what="record removed")
            self.assertIn("quit did not end PID %d" % pid, self.p.log())
            self.check_template_unchanged()
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGCONT)


def build_template():
    script = os.path.join(harness.REPO_DIR, "scripts", "mk-tiny.sh")
    r = subprocess.run(["sh", script, VMLIB], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=600)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        if "could not download" in r.stdout or "cannot resolve" in r.stdout:
            return "mk-tiny.sh could not fetch the kernel (offline?)"
        raise SystemExit("qemu: FAIL: mk-tiny.sh exited %d" % r.returncode)
    for n in ("tiny.vmx", "tiny.iso", "tiny.vmdk"):
        if not os.path.isfile(os.path.join(TEMPLATE_DIR, n)):
            raise SystemExit("qemu: FAIL: mk-tiny.sh made no %s" % n)
    return None


def main():
    for tool in ("qemu-system-x86_64", "qemu-img", "xorriso"):
        if shutil.which(tool) is None:
            log("SKIP: %s not installed (scripts/deps.sh run)" % tool)
            sys.exit(SKIP)
    why = build_template()
    if why:
        log("SKIP: " + why)
        sys.exit(SKIP)
    harness.main()


if __name__ == "__main__":
    main()
