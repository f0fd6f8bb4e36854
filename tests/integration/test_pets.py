#!/usr/bin/env python3
"""Persistent disks of pets, fast: the test backend (disks are sparse
.img files; the bundle's "disks" lists what a create attached) and the
VMware backend on the fake vmrun (the .vmx entries, a flat VMDK made by
the plugin, the disk kept through deleteVM).

  - a disk Attachment is made once under --vm-dir/attachments/<id>,
    attached, kept when the pet is destroyed and attached again to the
    replacement with the same attachment ID;
  - a Provision whose disk another live instance holds is refused,
    naming both; `attachment rm` refuses a disk in use;
  - a replacement provisioned while the old pet is still being destroyed
    waits: its create comes after the old one's remove;
  - kill -9 after the Provision was answered: the restarted plugin
    derives the holder from the records and still refuses a second user;
  - IDs with path tricks are refused with the field named.
Real QEMU: test_pets_qemu.py."""

import json
import os
import unittest

import harness
import test_vmware as tv

G = "infrakit.group"
PROPS = {"VMX": "alpine", "MemorySizeMBs": 256, "AttachmentSizeGB": 2}


def provision(c, lid, atts, props=None, want_error=False, tags=None):
    spec = {"Properties": props or PROPS, "Tags": tags or {G: "pets"},
            "Init": "", "LogicalID": lid, "Attachments": atts}
    return c.call("Instance.Provision", {"Type": "", "Spec": spec},
                  want_error=want_error)


def disk(aid, typ="disk"):
    return [{"ID": aid, "Type": typ}]


def state_of(c, iid):
    for d in c.describe(props=True, all_=True):
        if d["ID"] == iid:
            return d["Properties"]["State"]
    return None


def wait_state(c, iid, want, timeout=30):
    harness.wait_until(lambda: state_of(c, iid) == want, timeout,
                       what="%s %s" % (iid, want))


def wait_gone(c, iid, timeout=30):
    harness.wait_until(lambda: state_of(c, iid) is None, timeout,
                       what="%s destroyed" % iid)


def attached(p, iid):
    with open(os.path.join(p.bundle(iid), "disks")) as f:
        return f.read().split()


class Pets(harness.PluginTest):

    def disk_file(self, name):
        return os.path.join(self.p.vm_dir, "attachments", name, name + ".img")

    def ls(self):
        r = self.p.run_cli("attachment", "ls", "--json")
        return {a["ID"]: a for a in json.loads(r.stdout)["Attachments"]}

    def test_kept_reattached_exclusive(self):
        a = provision(self.c, "db-1", disk("data-1"))["ID"]
        wait_state(self.c, a, "running")
        f = self.disk_file("data-1")
        self.assertEqual(attached(self.p, a), [f])
        self.assertEqual(os.stat(f).st_size, 2 << 30)
        with open(f, "r+b") as fh:
            fh.write(b"MARKER-1")
        with open(os.path.join(os.path.dirname(f), "attachment.json")) as fh:
            meta = json.load(fh)
        self.assertEqual(meta["ID"], "data-1", meta)

        # A second pet naming the same disk: refused, naming both.
        e = provision(self.c, "db-2", disk("data-1"), want_error=True)
        self.assertIn("data-1", e["message"])
        self.assertIn(a, e["message"])
        self.assertIn("db-2", e["message"])
        # The case of the ID does not make it another disk.
        e = provision(self.c, "db-2", disk("DATA-1"), want_error=True)
        self.assertIn(a, e["message"])

        # attachment ls names the holder; rm refuses a disk in use.
        got = self.ls()["data-1"]
        self.assertEqual((got["Holder"], got["LogicalID"], got["SizeGB"]),
                         (a, "db-1", 2), got)
        r = self.p.run_cli("attachment", "rm", "data-1", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("in use", r.stderr)
        self.assertIn(a, r.stderr)
        self.assertTrue(os.path.exists(f))

        # Destroyed: the disk stays, free; the replacement gets it back,
        # with its data, and it is not made again.
        self.c.destroy(a)
        wait_gone(self.c, a)
        self.assertTrue(os.path.exists(f))
        self.assertEqual(self.ls()["data-1"]["Holder"], "")
        b = provision(self.c, "db-1", disk("data-1", "vmdk"))["ID"]
        wait_state(self.c, b, "running")
        self.assertEqual(attached(self.p, b), [f])
        with open(f, "rb") as fh:
            self.assertEqual(fh.read(8), b"MARKER-1")
        mk = [o for o in self.p.ops_log() if o[0] == "mkdisk"]
        self.assertEqual(mk, [["mkdisk", "data-1"]])

        # Deleted only by the verb, once nothing holds it.
        self.c.destroy(b)
        wait_gone(self.c, b)
        self.assertTrue(os.path.exists(f))
        self.p.run_cli("attachment", "rm", "data-1")
        self.assertFalse(os.path.exists(os.path.dirname(f)))
        self.assertNotIn("data-1", self.ls())
        r = self.p.run_cli("attachment", "rm", "data-1", check=False)
        self.assertEqual(r.returncode, 1)

    def test_replacement_waits_for_the_destroy(self):
        a = provision(self.c, "db-1", disk("data-2"))["ID"]
        wait_state(self.c, a, "running")
        self.p.ctl_set("delay", "remove", 1500)
        self.c.destroy(a)
        # Still being destroyed: the Provision is taken, its create waits.
        b = provision(self.c, "db-1", disk("data-2"))["ID"]
        wait_state(self.c, b, "running")
        ops = [(o[0], o[1]) for o in self.p.ops_log()]
        self.assertLess(ops.index(("remove", a)), ops.index(("create", b)),
                        ops)

    def test_bad_ids_refused(self):
        for bad in ("../etc", "a/b", "..", "-rf", "x\ny", ""):
            e = provision(self.c, "db-1", disk(bad), want_error=True)
            self.assertIn("Attachments", e["message"], (bad, e))
        self.assertFalse(os.path.exists(os.path.join(self.p.vm_dir, "etc")))
        r = self.p.run_cli("attachment", "rm", "../x", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # Other types are stored and ignored, as before.
        i = provision(self.c, "db-9", [{"ID": "../x", "Type": "nfs"}])["ID"]
        wait_state(self.c, i, "running")
        self.assertFalse(os.path.exists(os.path.join(p_attach(self.p), "x")))

    def test_kill9_holders_from_records(self):
        self.p.ctl_set("delay", "create", 1500)
        a = provision(self.c, "db-1", disk("data-3"))["ID"]
        self.c.close()
        self.c = None
        self.p.kill9()
        p = self.new_plugin()
        p.ctl_clear("delay", "create")
        p.start()
        self.p, self.c = p, p.client()
        e = provision(self.c, "db-2", disk("data-3"), want_error=True)
        self.assertIn(a, e["message"])
        wait_state(self.c, a, "running")
        self.assertEqual(attached(p, a), [self.disk_file("data-3")])
        self.assertEqual(os.listdir(os.path.join(p.vm_dir, ".staging")), [])


class GroupPets(harness.PluginTest):
    """The built-in group controller's pets carry the flavor's Attachments."""

    def commit(self, gid, lids, atts):
        return self.c.call("Group.CommitGroup", {"Pretend": False, "Spec": {
            "ID": gid, "Properties": {
                "Allocation": {"LogicalIDs": lids},
                "Instance": {"Plugin": "vmware-fusion", "Properties": PROPS},
                "Flavor": {"Plugin": "vanilla", "Properties": {
                    "Init": ["echo pet"], "Attachments": atts}}}}})

    def members(self, gid):
        return {d["LogicalID"]: d["ID"]
                for d in self.c.describe({G: gid}, props=True)
                if d["Properties"]["State"] == "running"}

    def test_group_replacement_gets_the_disk(self):
        f = os.path.join(self.p.vm_dir, "attachments", "g-1", "g-1.img")
        self.commit("db", ["db-1"], disk("g-1"))
        a = harness.wait_until(lambda: self.members("db").get("db-1"),
                               what="the pet")
        self.assertEqual(attached(self.p, a), [f])
        self.c.destroy(a)
        b = harness.wait_until(lambda: self.members("db").get("db-1") not in
                               (None, a) and self.members("db")["db-1"],
                               what="its replacement")
        self.assertEqual(attached(self.p, b), [f])

    def test_two_pets_one_disk_the_second_refused(self):
        # vanilla gives every pet the same list: only one can have the
        # disk; the other's Provision fails, saying why.
        self.commit("two", ["db-1", "db-2"], disk("g-2"))
        harness.wait_until(lambda: len(self.members("two")) == 1, what="one pet")
        holder = list(self.members("two").values())[0]
        st = harness.wait_until(
            lambda: (lambda s: s if "g-2" in s.get("Error", "") else None)(
                self.c.call("Group.DescribeGroup", {"ID": "two"})["Status"]),
            what="the group's error")
        self.assertIn(holder, st["Error"])
        self.c.call("Group.FreeGroup", {"ID": "two"})


def p_attach(p):
    return os.path.join(p.vm_dir, "attachments")


class VMwarePets(harness.PluginTest):
    """The .vmx side on the fake vmrun (which has no vdiskmanager); the
    helpers of test_vmware.VMware, not its tests."""
    start_plugin = False
    plugin = tv.VMware.plugin
    vmx = tv.VMware.vmx
    props = tv.VMware.props
    wait_running = tv.VMware.wait_running

    def setUp(self):
        super().setUp()
        self.lib = os.path.join(self.base, "lib")
        fake_ctl = os.path.join(self.base, "fakectl")
        os.makedirs(fake_ctl)
        self.fake_env = {
            "FAKE_VMRUN_STATE": os.path.join(self.base, "fake-state"),
            "FAKE_VMRUN_LOG": os.path.join(self.base, "vmrun-calls.log"),
            "FAKE_VMRUN_CTL": fake_ctl,
        }

    def test_vmx_entries_flat_vmdk_kept(self):
        tv.make_template(self.lib, "alpine")
        p = self.plugin()
        props = {"VMX": "alpine", "AttachmentSizeGB": 1}
        spec = {"Properties": props, "Tags": {G: "pets"}, "Init": "",
                "LogicalID": "db-1", "Attachments": disk("vol-1", "vmdk")}
        a = self.c.call("Instance.Provision", {"Type": "", "Spec": spec})["ID"]
        self.wait_running([a])
        d = os.path.join(p.vm_dir, "attachments", "vol-1")
        vmdk = os.path.join(d, "vol-1.vmdk")
        text = tv.read(vmdk)
        self.assertEqual(tv.desc_field(text, "createType"), "monolithicFlat")
        self.assertIn('RW 2097152 FLAT "vol-1-flat.vmdk" 0', text)
        self.assertEqual(os.stat(os.path.join(d, "vol-1-flat.vmdk")).st_size,
                         1 << 30)
        v = tv.read_vmx(self.vmx(p, a))
        slots = [k[:-len(".filename")] for k, val in v.items()
                 if k.endswith(".filename") and val == vmdk]
        self.assertEqual(len(slots), 1, v)
        self.assertTrue(slots[0].startswith("sata0:"), slots)
        self.assertEqual(v[slots[0] + ".present"], "TRUE")
        self.assertEqual(v[slots[0] + ".mode"], "independent-persistent")
        self.assertEqual(v["sata0.present"], "TRUE")
        # The template's own disk stays where it was.
        self.assertEqual(v["scsi0:0.present"], "TRUE")

        self.c.destroy(a)
        harness.wait_until(lambda: self.props(a) is None, 30, what="gone")
        self.assertTrue(os.path.exists(vmdk))
        self.assertTrue(os.path.exists(os.path.join(d, "vol-1-flat.vmdk")))
        b = self.c.call("Instance.Provision", {"Type": "", "Spec": spec})["ID"]
        self.wait_running([b])
        self.assertEqual(tv.read_vmx(self.vmx(p, b))[slots[0] + ".filename"],
                         vmdk)


if __name__ == "__main__":
    harness.main()
