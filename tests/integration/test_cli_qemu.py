#!/usr/bin/env python3
"""The client verbs against one real tiny guest (issue 13, done-when 1):
the real plugin on real QEMU (TCG), user-mode networking, the plugin's own
key (--guest-key auto, the default: no SSHAuthorizedKeys in the Spec).

One guest, in order:
  1. `provision --wait` returns 0 once Describe says Ready (checked right
     after it returns), with the ID on stdout; the key pair
     <vm-dir>/.ssh/id_ed25519 exists, mode 0600;
  2. `ssh ID -- cat /etc/hostname` prints the LogicalID (the daemon's key,
     the template's user root);
  3. `ip ID` prints the SSH address 127.0.0.1:PORT and says why on stderr;
     `describe --properties` shows that address, the MAC and READY yes;
  4. `console ID` through a pty: a login prompt after Enter; `~.` leaves
     with status 0; `logs ID` holds the boot's lines;
  5. a marker written to /dev/sda over `ssh`; `stop ID` (power off, the
     same ID listed with `describe --all`); `start ID`: Ready again, the
     same SSH address, the marker reads back over `ssh` (the same disk).

Reuses test_qemu_net's template and cleanup. Timings printed. Exit 77
when qemu, qemu-img, xorriso, ssh or ssh-keygen are missing or the
template cannot be built.
"""

import json
import os
import pty
import re
import select
import stat
import subprocess
import sys
import time
import unittest

import harness
import test_qemu_net as qn

MARKER_OFFSET = 8 * 1024 * 1024
LOGICAL = "tiny-cli"


def log(msg):
    print("cli-qemu: " + msg, flush=True)


class CLIQemu(qn.Net):
    def cli(self, *args, check=True, timeout=60):
        cmd = [self.p.binary, args[0], "--name", self.p.name] + list(args[1:])
        r = subprocess.run(cmd, env=self.p.env, capture_output=True, text=True,
                           timeout=timeout)
        if check:
            self.assertEqual(r.returncode, 0, "%s: %s %s" % (cmd, r.stdout, r.stderr))
        return r

    def console(self, iid):
        """`console ID` on a pty: Enter, a login prompt, then ~. leaves."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(self.p.binary, [self.p.binary, "console", "--name", self.p.name, iid],
                      self.p.env)
        buf, end = b"", time.monotonic() + 60
        try:
            time.sleep(0.5)
            os.write(fd, b"\r")
            while time.monotonic() < end and not re.search(rb"\S+ login: ", buf):
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    try:
                        buf += os.read(fd, 4096)
                    except OSError:
                        break
            m = re.search(rb"(\S+) login: ", buf)
            self.assertIsNotNone(m, "no login prompt through `console`: %r" % buf[-2000:])
            os.write(fd, b"\r~.")
            end = time.monotonic() + 20
            while time.monotonic() < end:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                try:
                    if select.select([fd], [], [], 0.2)[0]:
                        os.read(fd, 4096)
                except OSError:
                    pass
            else:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                self.fail("`console` did not leave on ~.")
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            return m.group(1).decode()
        finally:
            os.close(fd)

    def test_cli(self):
        self.plugin(args=["--guest-key", "auto"])
        self.start()
        spec = os.path.join(self.base, "spec.json")
        with open(spec, "w") as f:
            json.dump({"Properties": {"VMX": "tinydisk", "MemorySizeMBs": 256},
                       "Tags": {"infrakit.group": "cli"}, "LogicalID": LOGICAL,
                       "Init": "echo cli-init"}, f)

        # 1. provision --wait.
        t0 = time.monotonic()
        r = self.cli("provision", "--wait", "--timeout", "%ds" % qn.READY_TIMEOUT, spec,
                     timeout=qn.READY_TIMEOUT + 30)
        iid = r.stdout.strip()
        log("provision --wait: %s ready after %.1f s" % (iid, time.monotonic() - t0))
        self.assertRegex(iid, r"^i-[0-9a-z]+$")
        pr = self.props(iid)
        self.assertIs(pr.get("Ready"), True, pr)
        key = os.path.join(self.p.vm_dir, ".ssh", "id_ed25519")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

        # 2. ssh with the plugin's key and the template's user.
        t1 = time.monotonic()
        r = self.cli("ssh", iid, "--", "cat", "/etc/hostname")
        self.assertEqual(r.stdout, LOGICAL + "\n")
        log("ssh round trip: %.2f s" % (time.monotonic() - t1))

        # 3. ip and describe.
        r = self.cli("ip", iid)
        self.assertEqual(r.stdout.strip(), pr["SSH"])
        self.assertRegex(pr["SSH"], r"^127\.0\.0\.1:\d+$")
        self.assertIn("user-mode", r.stderr)
        out = self.cli("describe", "--properties").stdout
        row = [l for l in out.splitlines() if l.startswith(iid)]
        self.assertEqual(len(row), 1, out)
        self.assertEqual(row[0].split()[:6],
                         [iid, "running", "running", "yes", pr["SSH"], pr["MAC"]], out)

        # 4. console and logs.
        self.assertEqual(self.console(iid), LOGICAL)
        logs = self.cli("logs", iid).stdout
        self.assertIn("instance-id: %s" % iid, logs)
        self.assertIn("cli-init", logs)

        # 5. stop, start: the same VM.
        mark = "cli-%d" % os.getpid()
        r = self.cli("ssh", iid, "--", "printf %s | dd of=/dev/sda bs=1 seek=%d conv=notrunc "
                     "2>/dev/null && sync && echo written" % (mark, MARKER_OFFSET))
        self.assertEqual(r.stdout.strip(), "written")
        self.assertEqual(self.cli("stop", iid, timeout=120).stdout.strip(), "stopped " + iid)
        self.assertEqual(self.props(iid).get("PowerState"), "off")
        self.assertIn(iid, self.cli("describe", "--all").stdout)
        t2 = time.monotonic()
        self.assertEqual(self.cli("start", iid, timeout=120).stdout.strip(), "started " + iid)
        pr2, _ = self.wait_ready(iid, t2, "Ready after `start`")
        self.assertEqual(pr2["SSH"], pr["SSH"])
        r = self.cli("ssh", iid, "--", "dd if=/dev/sda bs=1 skip=%d count=%d 2>/dev/null"
                     % (MARKER_OFFSET, len(mark)))
        self.assertEqual(r.stdout, mark, "the disk lost what was written before the stop")
        self.assertEqual(self.cli("ssh", iid, "--", "cat", "/etc/hostname").stdout,
                         LOGICAL + "\n")


def main():
    import shutil
    import test_qemu as tq
    for tool in ("qemu-system-x86_64", "qemu-img", "xorriso", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            log("SKIP: %s not installed (scripts/deps.sh test)" % tool)
            sys.exit(qn.SKIP)
    why = tq.build_template()
    if why:
        log("SKIP: " + why)
        sys.exit(qn.SKIP)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
