#!/usr/bin/env python3
"""The README's group sequence on real QEMU guests (the tiny template of
scripts/mk-tiny.sh, as `make vmx-tiny` builds it), driven by the CLI:

  1. `group commit examples/cattle-tiny.json`: 3 guests boot, and each one's
     serial console shows that its own Init ran (exit 0);
  2. one QEMU is killed (SIGKILL, behind the plugin's back): a replacement
     is provisioned within 2 s and boots, its Init runs;
  3. `group scale cattle-tiny 5`: 5 guests; `group scale cattle-tiny 2`: the
     3 oldest are destroyed, their QEMUs exit;
  4. `group commit examples/cattle-tiny-v2.json` (another Init, Size 2): the
     roll replaces the members one at a time, each replacement running (and
     ready, where the backend reports readiness) before the next old member
     goes.
Cleanup destroys the group and, last, kills any QEMU whose pidfile is under
the test's temporary directory.

Env: TINY_VMLIB (template library, default REPO/vmx). Exit 77 (skip) when
qemu-system-x86_64, qemu-img or xorriso is missing, or the template cannot
be built (offline).
"""

import os
import re
import shutil
import signal
import sys
import time

import harness
import test_qemu
from test_qemu import QemuCase, alive, log, qemu_procs

EXAMPLES = os.path.join(harness.REPO_DIR, "examples")
GID = "cattle-tiny"
BOOT_TIMEOUT = test_qemu.BOOT_TIMEOUT
REPLACE_LIMIT = 2.0  # s from the kill to the replacement's Provision


class GroupOnQemu(QemuCase):

    def destroy_everything(self):
        # Stop managing first, or the group would replace what cleanup
        # destroys.
        if self.p.proc is not None and self.p.proc.poll() is None:
            try:
                c = self.p.client()
                for g in c.call("Group.InspectGroups", {})["Groups"]:
                    c.call("Group.FreeGroup", {"ID": g["ID"]})
                c.close()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                log("cleanup: freeing the groups failed: %r" % e)
        super().destroy_everything()

    def group(self, *args, check=True):
        return self.p.run_cli("group", *args, check=check)

    def status(self):
        return self.c.call("Group.DescribeGroup", {"ID": GID, "All": True})

    def members(self):
        return sorted(d["ID"] for d in self.c.describe({"infrakit.group": GID}))

    def init_ran(self, iid, version):
        """The serial log of iid shows its Init of this version ran."""
        text = self.serial(iid)
        m = re.search(r"^=== user-data begin ===\n(.*?)^=== user-data end \(exit (\d+)\) ===",
                      text, re.M | re.S)
        return (m is not None and m.group(2) == "0" and
                re.search(r"(?m)^cattle-tiny %s on \S+$" % version, m.group(1)) is not None)

    def wait_running(self, n, version, what):
        """n members, all running, all booted with the Init of version."""
        def ok():
            st = self.status()["Status"]
            ms = self.members()
            return (st["Steady"] and len(ms) == n and
                    all(self.init_ran(i, version) for i in ms) and ms)
        ms = harness.wait_until(ok, timeout=BOOT_TIMEOUT, interval=0.5, what=what)
        for iid in ms:
            self.check_qemu(iid)
            ids = re.findall(r"^instance-id: (.*?)$", self.serial(iid), re.M)
            self.assertEqual(ids, [iid], "%s booted someone else's seed" % iid)
        log("%s: %s" % (what, " ".join(ms)))
        return ms

    def test_readme_sequence(self):
        self.start_plugin_()
        p = self.group("commit", os.path.join(EXAMPLES, "cattle-tiny.json"))
        self.assertIn("Committed cattle-tiny: Managing 3 instances", p.stdout)
        t0 = time.monotonic()
        three = self.wait_running(3, "v1", "3 guests booted")
        log("commit -> 3 guests ran their Init: %.1f s" % (time.monotonic() - t0))

        # Kill one QEMU behind the plugin's back: a replacement boots.
        victim = three[0]
        pid = self.pid(victim)
        creates_before = len(self.status()["Description"]["Instances"])
        os.kill(pid, signal.SIGKILL)
        t_kill = time.monotonic()
        harness.wait_until(lambda: len(self.status()["Description"]["Instances"]) >
                           creates_before, timeout=10, interval=0.05,
                           what="a replacement provisioned")
        took = time.monotonic() - t_kill
        log("QEMU killed -> replacement provisioned: %.2f s" % took)
        self.assertLess(took, REPLACE_LIMIT * harness.SLOW)
        now = self.wait_running(3, "v1", "replacement booted")
        self.assertNotIn(victim, now)
        self.assertFalse(alive(pid))

        # Scale to 5, then to 2: the oldest go, their QEMUs exit.
        p = self.group("scale", GID, "5")
        self.assertIn("Adding 2 instances to increase the group size to 5", p.stdout)
        five = self.wait_running(5, "v1", "scaled to 5")
        pids = {i: self.pid(i) for i in five}
        p = self.group("scale", GID, "2")
        self.assertIn("Terminating 3 instances to reduce the group size to 2", p.stdout)
        two = self.wait_running(2, "v1", "scaled to 2")
        self.assertEqual(two, sorted(five)[3:])
        harness.wait_until(lambda: not any(alive(pids[i]) for i in sorted(five)[:3]),
                           timeout=test_qemu.STOP_TIMEOUT + 30, interval=0.2,
                           what="the destroyed guests' QEMUs gone")

        # Another Init: a rolling update, one member at a time.
        p = self.group("commit", os.path.join(EXAMPLES, "cattle-tiny-v2.json"))
        self.assertIn("Performing a rolling update on 2 instances", p.stdout)
        seen_up = []
        end = time.monotonic() + 2 * BOOT_TIMEOUT
        while time.monotonic() < end:
            st = self.status()
            running = [d for d in st["Description"]["Instances"]
                       if d["Properties"]["State"] == "running" and
                       d["Properties"].get("Reported", True)]
            seen_up.append(len(running))
            if st["Status"]["Steady"] and all(self.init_ran(i, "v2") for i in self.members()):
                break
            time.sleep(0.5)
        # MaxUnavailable 1: never fewer than one of the two up.
        self.assertGreaterEqual(min(seen_up), 1, seen_up)
        rolled = self.wait_running(2, "v2", "rolled to v2")
        self.assertFalse(set(rolled) & set(two))
        # Where the backend reports readiness (Describe's Ready), the second
        # old member went only once the first replacement's guest said it
        # was ready, not merely running.
        props = [d["Properties"] for d in self.status()["Description"]["Instances"]
                 if d["ID"] in rolled]
        if any("Ready" in p for p in props):
            lines = self.p.log().splitlines()

            def at(text):
                return min(i for i, l in enumerate(lines) if text in l)
            self.assertLess(at("instance %s: ready" % min(rolled)),
                            at("group 'cattle-tiny': destroying %s (rolling_update)"
                               % max(two)))
        else:
            log("this QEMU backend reports no readiness: the roll waited for "
                "running only")
        out = self.group("describe", GID).stdout
        self.assertIn("converged: 2 of 2 running", out)

        # Destroy the group: every guest goes.
        self.group("destroy", GID)
        harness.wait_until(lambda: not qemu_procs(self.base) and
                           self.c.call("Group.InspectGroups", {})["Groups"] == [],
                           timeout=test_qemu.STOP_TIMEOUT + 60, interval=0.5,
                           what="the group destroyed")


def main():
    for tool in ("qemu-system-x86_64", "qemu-img", "xorriso"):
        if shutil.which(tool) is None:
            log("SKIP: %s not installed (scripts/deps.sh run)" % tool)
            sys.exit(test_qemu.SKIP)
    why = test_qemu.build_template()
    if why:
        log("SKIP: " + why)
        sys.exit(test_qemu.SKIP)
    harness.main()


if __name__ == "__main__":
    main()
