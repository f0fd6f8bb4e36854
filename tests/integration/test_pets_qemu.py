#!/usr/bin/env python3
"""A pet's persistent disk on real QEMU guests (the tiny template of
scripts/mk-tiny.sh; its data disk is on sata0, ahci, the guest's only
disk it drives). Every guest runs the same Init: it finds the data disk
by its size (AttachmentSizeGB 1: 2097152 sectors), prints what the disk
holds at its start ("pets: read=..."), then writes a fresh random marker
there with dd ("pets: wrote=...").

  1. Provision pet A (LogicalID db-1, attachment data-db1): the disk is
     made (a qcow2 under --vm-dir/attachments), QEMU has it as a drive,
     A reads nothing and writes M1;
  2. a Provision of another pet with the same attachment while A runs is
     refused, naming A, the disk and the new pet's LogicalID;
  3. A destroyed, pet B provisioned with the same LogicalID and
     attachment: B reads M1, writes M2; the disk was kept and made once;
  4. B destroyed; Group.CommitGroup of a pets group (LogicalIDs [db-1],
     the same attachment from the vanilla flavor): its pet C reads M2;
     attachment rm is refused while C holds the disk.
Three guest boots. Env: TINY_VMLIB. Exit 77 as test_qemu.py.
"""

import os
import re
import time

import harness
import test_qemu as tq

SIZE_SECTORS = 2097152  # AttachmentSizeGB 1
PROPS = {"VMX": "tiny", "MemorySizeMBs": 256, "AttachmentSizeGB": 1}
ATT = [{"ID": "data-db1", "Type": "disk"}]
GID = "pets-q"
INIT = "\n".join([
    "dev=",
    "for d in /sys/block/sd*; do [ \"$(cat $d/size)\" = %d ] && "
    "dev=/dev/${d##*/}; done" % SIZE_SECTORS,
    "echo \"pets: dev=$dev\"",
    "echo \"pets: read=$(dd if=$dev bs=64 count=1 2>/dev/null | tr -cd a-z0-9)\"",
    "m=m$(head -c 6 /dev/urandom | od -An -tx1 | tr -cd a-f0-9)",
    "printf %s \"$m\" | dd of=$dev bs=64 count=1 conv=notrunc,sync 2>/dev/null",
    "sync",
    "echo \"pets: wrote=$m\"",
])


class PetsOnQemu(tq.QemuCase):

    def destroy_everything(self):
        # Stop managing first, or the group would replace what cleanup
        # destroys.
        if self.p.proc is not None and self.p.proc.poll() is None:
            try:
                c = self.p.client()
                for g in c.call("Group.InspectGroups", {})["Groups"] or []:
                    c.call("Group.FreeGroup", {"ID": g["ID"]})
                c.close()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                tq.log("cleanup: freeing the groups failed: %r" % e)
        super().destroy_everything()

    def client(self):
        """A new connection: the plugin closes one idle for longer than
        its idle limit, as ours is while a guest boots."""
        if self.c is not None:
            self.c.close()
        self.c = self.p.client()
        return self.c

    def provision(self, lid, want_error=False):
        spec = {"Properties": PROPS, "Tags": {"infrakit.group": "pets-e2e"},
                "Init": INIT, "LogicalID": lid, "Attachments": ATT}
        return self.client().call("Instance.Provision", {"Type": "", "Spec": spec},
                           want_error=want_error)

    def markers(self, iid, t0):
        """(read, wrote) of iid's Init, once it ran."""
        def done():
            text = self.serial(iid)
            w = re.search(r"(?m)^pets: wrote=(m[0-9a-f]{12})$", text)
            return w and (re.search(r"(?m)^pets: read=(\w*)$", text).group(1),
                          w.group(1))
        try:
            got = harness.wait_until(done, timeout=tq.BOOT_TIMEOUT, interval=0.2,
                                     what="the Init of %s" % iid)
        except AssertionError:
            self.fail("%s: no markers after %d s\nserial:\n%s\nplugin:\n%s" % (
                iid, tq.BOOT_TIMEOUT, self.serial(iid)[-3000:], self.p.log()[-4000:]))
        dev = re.search(r"(?m)^pets: dev=(\S*)$", self.serial(iid)).group(1)
        self.assertRegex(dev, r"^/dev/sd[a-z]$", "the guest did not see the data disk")
        tq.log("%s: Init ran %.1f s after its Provision (read %r, wrote %s)"
               % (iid, time.monotonic() - t0, got[0], got[1]))
        return got

    def gone(self, iid):
        harness.wait_until(lambda: all(d["ID"] != iid for d in self.client().describe(all_=True)),
                           timeout=tq.STOP_TIMEOUT + 30, interval=0.2,
                           what="%s destroyed" % iid)

    def test_pet_disk_survives_replacement(self):
        self.start_plugin_()
        disk = os.path.join(self.p.vm_dir, "attachments", "data-db1", "data-db1.qcow2")

        # 1. A makes the disk and writes M1.
        t0 = time.monotonic()
        a = self.provision("db-1")["ID"]
        read, m1 = self.markers(a, t0)
        self.assertEqual(read, "")
        argv = tq.cmdline(self.pid(a))
        self.assertTrue(any(x.startswith("file=%s,format=qcow2," % disk) for x in argv),
                        argv)

        # 2. Not in two running VMs.
        e = self.provision("db-2", want_error=True)
        for want in ("data-db1", a, "db-2"):
            self.assertIn(want, e["message"])

        # 3. A replacement with the same LogicalID and attachment.
        self.client().destroy(a)
        t0 = time.monotonic()
        b = self.provision("db-1")["ID"]
        read, m2 = self.markers(b, t0)
        self.assertEqual(read, m1, "the replacement did not find A's data")
        self.assertTrue(os.path.exists(disk))
        self.assertEqual(self.p.log().count("made disk data-db1"), 1)

        # 4. The group controller's pet gets the disk too.
        self.client().destroy(b)
        self.gone(b)
        t0 = time.monotonic()
        self.client().call("Group.CommitGroup", {"Pretend": False, "Spec": {"ID": GID, "Properties": {
            "Allocation": {"LogicalIDs": ["db-1"]},
            "Instance": {"Plugin": "vmware-fusion", "Properties": PROPS},
            "Flavor": {"Plugin": "vanilla", "Properties": {
                "Init": [INIT], "Attachments": ATT}}}}})
        ms = harness.wait_until(lambda: [d["ID"] for d in
                                         self.client().describe({"infrakit.group": GID})],
                                timeout=30, what="the group's pet")
        c = ms[0]
        read, _ = self.markers(c, t0)
        self.assertEqual(read, m2, "the group's pet did not find B's data")
        r = self.p.run_cli("attachment", "rm", "data-db1", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(c, r.stderr)


if __name__ == "__main__":
    tq.main()
