#!/usr/bin/env python3
"""The edges, attacked: no request reaches outside --vm-dir / --vm-lib
(VMX names, LogicalIDs, tag keys and values, IDs in Destroy and Label tried
with ../, absolute paths, NUL, very long strings, shell metacharacters), no
shell is ever involved in running vmrun (arguments arrive byte for byte),
and files and directories get private modes."""

import json
import os
import shutil
import stat
import unittest

import harness

G = "infrakit.group"
FAKE = os.path.join(harness.TESTS_DIR, "fakes", "fake-vmrun")

NASTY = [
    "../outside/evil", "../../../../etc/passwd", "/etc/passwd", "a/../../b", "..", ".",
    "x" * 10000, "$(touch PWNED)", "`touch PWNED`", "a; touch PWNED", "a && touch PWNED",
    "a|touch PWNED", "a\ntouch PWNED", "a\\u0000b", "%2e%2e%2fetc", "~root", "*", "-rf",
]


def tree(path):
    out = set()
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(root, n), path))
    return out


class Edges(harness.PluginTest):
    start_plugin = False

    def setUp(self):
        super().setUp()
        # Everything the plugin may touch lives under base/lib and base/vms;
        # a canary template sits outside, one "../" away.
        self.state = os.path.join(self.base, "fake-state")
        os.makedirs(self.state)
        self.canary = os.path.join(self.base, "outside")
        harness.make_template(self.canary, "evil")
        self.p = self.new_plugin(binary=harness.PLUGIN_BIN, backend="vmware",
                                 args=["--vmrun", FAKE, "--clone", "copy"],
                                 env={"FAKE_VMRUN_STATE": self.state,
                                      "FAKE_VMRUN_LOG": os.path.join(self.base, "vmrun.log")},
                                 vm_lib=os.path.join(self.base, "lib dir; $(x)"))
        harness.make_template(self.p.vm_lib, "alpine")
        self.p.start()
        self.c = self.p.client()
        self.before_outside = tree(self.canary)

    def assert_nothing_outside(self):
        self.assertEqual(tree(self.canary), self.before_outside)
        allowed = {"plugins", "vms", "lib dir; $(x)", "outside", "ctl", "fake-state",
                   "vmrun.log", os.path.basename(self.p.log_path)}
        self.assertEqual(set(os.listdir(self.base)) - allowed, set())
        self.assertFalse(os.path.exists(os.path.join(self.base, "PWNED")))
        self.assertFalse(os.path.exists("PWNED"))
        self.assertIsNone(self.p.proc.poll())

    def test_vmx_names(self):
        for name in NASTY:
            with self.subTest(vmx=name[:40]):
                body = '{"jsonrpc":"2.0","method":"Instance.Validate","params":{"Properties":' \
                       '{"VMX":%s}},"id":1}' % json.dumps(name).replace("\\\\u0000", "\\u0000")
                _, _, text = self.c.post_raw(body)
                ans = json.loads(text)
                self.assertIn("error", ans, name)
                self.assertEqual(self.c.ids(), [])
        err = self.c.provision({"VMX": "../outside/evil"}, want_error=True)
        self.assertIn("not a path", err["message"])
        self.assert_nothing_outside()

    def test_ids_in_destroy_and_label(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "s"})["ID"]
        for bad in NASTY + [iid + "/../" + iid, iid + "\x00", "i-" + "v" * 200]:
            with self.subTest(id=bad[:40]):
                body = json.dumps({"jsonrpc": "2.0", "method": "Instance.Destroy",
                                   "params": {"Instance": bad}, "id": 2})
                _, _, text = self.c.post_raw(body)
                r = json.loads(text)
                # Unknown IDs are already gone (or refused: too long, NUL):
                # never a path on disk.
                self.assertTrue("result" in r or "limit" in r["error"]["message"] or
                                "NUL" in r["error"]["message"], text)
                body = json.dumps({"jsonrpc": "2.0", "method": "Instance.Label",
                                   "params": {"Instance": bad, "Labels": {"a": "b"}}, "id": 3})
                _, _, text = self.c.post_raw(body)
                self.assertIn("error", json.loads(text))
        self.assertEqual(self.c.ids({G: "s"}), [iid])
        self.assert_nothing_outside()

    def test_logical_ids_and_tags_are_data(self):
        weird = {"../../k": "../../v", "k;$(touch PWNED)": "`touch PWNED`",
                 "quote\"pipe|": "new\nline\ttab", "unicode-ключ": "значение ✓"}
        iid = self.c.provision({"VMX": "alpine"}, tags=dict(weird, **{G: "w"}),
                               logical_id="../../$(touch PWNED);`x`|y",
                               init="echo $(touch PWNED)")["ID"]
        harness.wait_until(lambda: self.c.describe(props=True)[0]["Properties"]["State"]
                           == "running", timeout=60, what="running")
        d = self.c.describe({G: "w"})[0]
        self.assertEqual(d["LogicalID"], "../../$(touch PWNED);`x`|y")
        for k, v in weird.items():
            self.assertEqual(d["Tags"][k], v)
        # In the .vmx the LogicalID is one escaped value on one line.
        with open(os.path.join(self.p.bundle(iid), iid + ".vmx")) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("guestinfo.infrakit.logical-id")]
        self.assertEqual(lines, ['guestinfo.infrakit.logical-id = "../../$(touch PWNED);`x`|7Cy"'])
        self.assert_nothing_outside()

    def test_no_shell_in_vmrun_calls(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "n"})["ID"]
        harness.wait_until(lambda: any("start" in l for l in open(os.path.join(self.base, "vmrun.log"))),
                           timeout=60, what="vmrun start")
        with open(os.path.join(self.base, "vmrun.log")) as f:
            calls = [json.loads(l)["argv"] for l in f]
        start = [a for a in calls if "start" in a][0]
        vmx = os.path.join(self.p.vm_dir, iid, iid + ".vmwarevm", iid + ".vmx")
        # The path arrives as one argument, exactly.
        self.assertIn(vmx, start)
        self.assertEqual(start[start.index(vmx) + 1], "nogui")
        self.assertFalse(os.path.exists(os.path.join(self.base, "PWNED")))

    def test_modes(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "m"})["ID"]
        # The record is in the journal at once, in instance.json soon after.
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.p.vm_dir,
                                                           ".journal")).st_mode), 0o600)
        rec = os.path.join(self.p.vm_dir, iid, "instance.json")
        harness.wait_until(lambda: os.path.exists(rec), what="record written")
        self.assertEqual(stat.S_IMODE(os.stat(self.p.vm_dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.p.vm_dir, iid)).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.p.vm_dir, iid,
                                                           "instance.json")).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.p.socket).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.p.plugins).st_mode), 0o700)


DISK_VMX = """.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "{name}"
guestOS = "other5xlinux-64"
memsize = "256"
numvcpus = "1"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "{disk}"
ide1:0.present = "TRUE"
ide1:0.deviceType = "cdrom-image"
ide1:0.fileName = "{iso}"
ethernet0.present = "TRUE"
ethernet0.addressType = "generated"
"""


class TemplateDisks(harness.PluginTest):
    """A template's disk must be inside its bundle (issue 11 #8): with
    "../shared.vmdk", an absolute path outside it, or a symbolic link out
    of it, every instance would write one disk. Validate and Provision
    refuse such a template before anything is made, naming the key and the
    path; a CD-ROM image outside the bundle (read-only media) is fine."""
    start_plugin = False

    def make(self, lib, name, disk, iso="../iso/install.iso"):
        d = os.path.join(lib, name + ".vmwarevm")
        os.makedirs(d)
        with open(os.path.join(d, name + ".vmx"), "w") as f:
            f.write(DISK_VMX.format(name=name, disk=disk, iso=iso))
        with open(os.path.join(d, "disk.vmdk"), "wb") as f:
            f.write(b"KDMV" + bytes(508))
        return d

    def check_backend(self, backend, args, env=None):
        lib = os.path.join(self.base, backend + "-lib")
        vms = os.path.join(self.base, backend + "-vms")
        os.makedirs(os.path.join(lib, "iso"))
        with open(os.path.join(lib, "iso", "install.iso"), "wb") as f:
            f.write(b"CD001" * 100)
        shared = os.path.join(lib, "shared.vmdk")
        with open(shared, "wb") as f:
            f.write(b"KDMV" + bytes(508))
        outside = os.path.join(self.base, "elsewhere.vmdk")
        with open(outside, "wb") as f:
            f.write(b"KDMV" + bytes(508))
        self.make(lib, "good", "disk.vmdk")
        bad = {"rel": "../shared.vmdk", "deep": "sub/../../shared.vmdk",
               "abs": outside, "link": "link.vmdk"}
        for name, disk in bad.items():
            d = self.make(lib, name, disk)
            if name == "link":
                os.symlink(shared, os.path.join(d, "link.vmdk"))
        p = self.new_plugin(binary=harness.PLUGIN_BIN, backend=backend, args=args,
                            env=env, vm_dir=vms, vm_lib=lib)
        p.start()
        c = p.client()
        try:
            # Read-only media outside the bundle: fine.
            self.assertEqual(c.validate({"VMX": "good"})["OK"], True)
            for name, disk in bad.items():
                with self.subTest(backend=backend, template=name):
                    tvmx = os.path.join(lib, name + ".vmwarevm", name + ".vmx")
                    want = 'template %s: scsi0:0.fileName "%s" is outside the template\'s ' \
                           'directory %s' % (tvmx, disk, os.path.dirname(tvmx))
                    for err in (c.validate({"VMX": name}, want_error=True),
                                c.provision({"VMX": name}, want_error=True)):
                        self.assertIn(want, err["message"])
                        self.assertIn("every instance would share that disk",
                                      err["message"])
                    self.assertEqual(c.describe(all_=True), [])
            # Nothing was made: no instance directory, nothing staged.
            self.assertEqual([n for n in os.listdir(vms) if not n.startswith(".")], [])
            staging = os.path.join(vms, ".staging")
            self.assertEqual(os.listdir(staging) if os.path.isdir(staging) else [], [])
            with open(shared, "rb") as f:
                self.assertEqual(f.read(), b"KDMV" + bytes(508))
        finally:
            c.close()

    def test_vmware(self):
        self.check_backend("vmware", ["--vmrun", FAKE, "--clone", "copy"],
                           env={"FAKE_VMRUN_STATE": os.path.join(self.base, "fake-state")})

    @unittest.skipUnless(shutil.which("qemu-system-x86_64") and shutil.which("qemu-img"),
                         "QEMU not installed")
    def test_qemu(self):
        self.check_backend("qemu", [])


if __name__ == "__main__":
    harness.main()
