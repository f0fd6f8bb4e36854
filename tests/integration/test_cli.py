#!/usr/bin/env python3
"""The client verbs against the test backend (no guest): each verb's own
--help, "did you mean" for flags and commands, the exit statuses (0 ok,
1 the plugin refused, 2 usage, 3 no plugin, 4 --wait timed out), the
describe table (aligned for long LogicalIDs and many tags, POWER
"provisioning" while an instance is made), start/stop/restart, what the
guest verbs say where there is no guest to reach, the plugin's key pair
(made once, mode 0600, kept across restarts; none with --guest-key none)
and Machine.Info. The same against a real guest: test_cli_qemu.py.
"""

import json
import os
import re
import stat
import subprocess
import unittest

import harness

VERBS = ("describe", "provision", "validate", "destroy", "label", "ssh", "ip",
         "console", "logs", "start", "stop", "restart")


class CLI(harness.PluginTest):
    plugin_args = ("--stop-timeout", "1s")

    def cli(self, *args, want=0, stdin=None):
        p = self.p.run_cli(*args, check=False, stdin=stdin)
        self.assertEqual(p.returncode, want, "%s: %s %s" % (args, p.stdout, p.stderr))
        return p

    def spec(self, **kw):
        path = os.path.join(self.base, "spec-%d.json" % len(os.listdir(self.base)))
        d = {"Properties": {"VMX": "alpine"}}
        d.update(kw)
        with open(path, "w") as f:
            json.dump(d, f)
        return path

    def test_help_per_verb(self):
        for verb in VERBS:
            with self.subTest(verb):
                p = self.cli(verb, "--help")
                self.assertTrue(p.stdout.startswith("usage: infrakit-instance-vmware-fusion "
                                                    + verb + " "), p.stdout)
                # Its own text, not the global usage.
                self.assertNotIn("group commit", p.stdout)
                self.assertIn("--name NAME", p.stdout)
        self.assertIn("--hard", self.cli("stop", "-h").stdout)
        self.assertIn("-i, --identity KEY", self.cli("ssh", "--help").stdout)
        self.assertIn("--timeout D", self.cli("provision", "--help").stdout)

    def test_did_you_mean_and_usage(self):
        p = self.cli("describe", "--propertis", want=2)
        self.assertIn("did you mean --properties?", p.stderr)
        p = self.cli("stop", "--hadr", "i-x", want=2)
        self.assertIn("did you mean --hard?", p.stderr)
        p = subprocess.run([self.p.binary, "conosle"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("did you mean console?", p.stderr)
        # Missing operands: the verb's usage, status 2.
        p = self.cli("ssh", want=2)
        self.assertIn("usage: infrakit-instance-vmware-fusion ssh", p.stderr)

    def test_exit_statuses(self):
        env = dict(self.p.env)
        p = subprocess.run([self.p.binary, "describe", "--name", "absent"], env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 3, p.stderr)
        p = self.cli("label", "i-nope", "a=b", want=1)
        self.assertIn("describe", p.stderr)
        self.cli("start", "i-nope", want=1)
        p = self.cli("provision", os.path.join(self.base, "missing.json"), want=1)
        self.assertNotIn("line -1", p.stderr)
        self.assertIn("cannot read", p.stderr)
        self.assertIn("No such file", p.stderr)

    def test_table_alignment_and_provisioning(self):
        long_id = "a-rather-long-logical-id-for-the-table-" + "x" * 30
        tags = {"t%02d" % i: "v" * 20 for i in range(12)}
        iid = self.cli("provision", self.spec(LogicalID=long_id, Tags=tags)).stdout.strip()
        self.cli("provision", self.spec(LogicalID="s"))
        harness.wait_until(lambda: "provisioning" not in self.cli("describe", "-p").stdout,
                           what="running")
        for args in (("describe",), ("describe", "--properties")):
            lines = self.cli(*args).stdout.splitlines()
            head = lines[0]
            for col in ("LOGICAL", "TAGS"):
                at = head.index(col)
                for row in lines[1:]:
                    self.assertEqual(row[at - 2:at], "  ", "%s misaligned:\n%s" % (col, lines))
                    self.assertNotEqual(row[at], " ", "%s misaligned:\n%s" % (col, lines))
            self.assertIn(long_id, "\n".join(lines))
        # POWER while the instance is being made.
        self.p.ctl_set("delay", "create", 3000)
        iid2 = self.cli("provision", self.spec()).stdout.strip()
        row = [l for l in self.cli("describe", "--all").stdout.splitlines()
               if l.startswith(iid2)][0]
        self.assertEqual(row.split()[1:3], ["provisioning", "provisioning"], row)
        # --wait: status 4 and the reason when the timeout comes first.
        p = self.cli("provision", "--wait", "--timeout", "1s", self.spec(), want=4)
        self.assertRegex(p.stderr, r"not ready after 1s \(state provisioning")
        self.p.ctl_clear("delay", "create")
        # --wait on a backend that does not report readiness: running is it.
        self.cli("provision", "--wait", "--timeout", "20s", self.spec())
        self.assertTrue(iid)

    def test_power_verbs(self):
        iid = self.cli("provision", "--wait", self.spec()).stdout.strip()
        self.assertEqual(self.cli("stop", "--hard", iid).stdout, "stopped %s\n" % iid)
        self.assertNotIn(iid, self.cli("describe").stdout)
        row = [l for l in self.cli("describe", "--all").stdout.splitlines()
               if l.startswith(iid)][0]
        self.assertEqual(row.split()[1:3], ["running*", "off"], row)
        self.assertEqual(self.cli("start", iid).stdout, "started %s\n" % iid)
        self.assertIn(iid, self.cli("describe").stdout)
        self.assertEqual(self.cli("restart", iid).stdout, "restarted %s\n" % iid)
        ops = [o[0] for o in self.p.ops_log() if o[1:] == [iid]]
        self.assertEqual(ops.count("start"), 3, ops)

    def test_shutdown_says_vms_run_on(self):
        for _ in range(2):
            self.cli("provision", "--wait", self.spec())
        self.c.close()
        self.c = None
        self.p.stop()
        self.assertIn("2 VMs are still running, left running by design", self.p.log())

    def test_socket_removed(self):
        # The plugin notices, says why and exits 1 (a service manager
        # starts it again); its VMs are left alone.
        self.c.close()
        self.c = None
        os.unlink(self.p.socket)
        rc = self.p.proc.wait(timeout=30)
        self.assertEqual(rc, 1)
        self.assertIn("the socket %s is gone" % self.p.socket, self.p.log())
        self.assertFalse(os.path.exists(self.p.pidfile))

    def test_socket_replaced(self):
        self.c.close()
        self.c = None
        os.unlink(self.p.socket)
        with open(self.p.socket, "w") as f:
            f.write("not ours")
        self.assertEqual(self.p.proc.wait(timeout=30), 1)
        self.assertIn("was replaced by another file", self.p.log())
        with open(self.p.socket) as f:
            self.assertEqual(f.read(), "not ours")
        os.unlink(self.p.socket)

    def test_guest_verbs_without_a_guest(self):
        iid = self.cli("provision", "--wait", self.spec()).stdout.strip()
        p = self.cli("ip", iid, want=1)
        self.assertIn("no address of %s known yet" % iid, p.stderr)
        p = self.cli("ssh", iid, "--", "true", want=1)
        self.assertIn("has no SSH address yet", p.stderr)
        for verb in ("console", "logs"):
            p = self.cli(verb, iid, want=1)
            self.assertIn("only QEMU's have", p.stderr)
        p = self.cli("ssh", "i-nope", want=1)
        self.assertIn("no instance i-nope", p.stderr)

    def test_plugin_key(self):
        key = os.path.join(self.p.vm_dir, ".ssh", "id_ed25519")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(key)).st_mode), 0o700)
        with open(key + ".pub") as f:
            pub = f.read()
        self.assertTrue(pub.startswith("ssh-ed25519 "), pub)
        info = self.c.call("Machine.Info")
        self.assertEqual(info["SSHKey"], key)
        self.assertEqual(info["VMDir"], self.p.vm_dir)
        # version: this program's and the running daemon's.
        v = json.loads(self.cli("version").stdout)
        self.assertEqual(v["daemon"]["version"], info["Version"])
        self.assertEqual(v["daemon"]["revision"], v["revision"])
        # Not advertised as InfraKit's.
        self.assertNotIn("Machine", json.dumps(self.c.call("Plugin.Implements")))
        # Kept across restarts.
        self.c.close()
        self.c = None
        self.p.stop()
        self.p.start()
        with open(key + ".pub") as f:
            self.assertEqual(f.read(), pub)
        self.c = self.p.client()

    def test_validate_forms(self):
        spec = self.spec(Tags={"a": "b"}, Init="echo", LogicalID="x")
        p = self.cli("validate", spec)
        self.assertEqual(p.stdout, "valid\n")
        self.assertIn("is an instance Spec; checking its \"Properties\"", p.stderr)
        p = self.cli("validate", self.spec())
        self.assertEqual((p.stdout, p.stderr), ("valid\n", ""))
        bare = os.path.join(self.base, "bare.json")
        with open(bare, "w") as f:
            json.dump({"VMX": "alpine"}, f)
        self.assertEqual(self.cli("validate", bare).stdout, "valid\n")
        # Not a Spec (an unknown top-level key): sent as Properties, refused.
        self.cli("validate", self.spec(Bogus=1), want=1)

    def test_bad_qemu_path_with_auto(self):
        # --backend auto (the default) and --qemu /bad/path: the path and
        # why, not "no hypervisor found".
        p = subprocess.run([self.p.binary, "serve", "--name", "bad", "--vm-dir",
                            os.path.join(self.base, "vms3"), "--qemu", "/bad/path/qemu",
                            "--vmrun", "/bad/path/vmrun"],
                           env=self.p.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("qemu-system-x86_64 not found at /bad/path/qemu", p.stderr)
        self.assertIn("/bad/path/vmrun", p.stderr)
        self.assertNotIn("no hypervisor found", p.stderr)

    def test_home_wins_over_passwd(self):
        # A passwd entry exists for this user (root here), yet $HOME is
        # where the socket is looked for, as every shell tool does.
        home = os.path.join(self.base, "elsewhere-home")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        p = subprocess.run([self.p.binary, "describe"], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn(os.path.join(home, ".infrakit", "plugins", "vmware-fusion"), p.stderr)

    def test_no_guest_key(self):
        p = self.new_plugin(name="nokey", vm_dir=os.path.join(self.base, "vms2"),
                            args=["--guest-key", "none"])
        p.start()
        c = p.client()
        try:
            self.assertIsNone(c.call("Machine.Info")["SSHKey"])
        finally:
            c.close()
        self.assertFalse(os.path.exists(os.path.join(self.base, "vms2", ".ssh")))
        p.stop()
        v = json.loads(subprocess.run([self.p.binary, "version", "--name", "nokey"],
                                      env=p.env, capture_output=True, text=True).stdout)
        self.assertNotIn("daemon", v)


if __name__ == "__main__":
    harness.main()
