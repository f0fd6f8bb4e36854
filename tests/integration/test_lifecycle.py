#!/usr/bin/env python3
"""InfraKit semantics through the real socket with the test backend: the
group's cattle life cycle (parallel provision, scale-down of the lowest IDs,
rolling update, filters), pets, Label, Types, what Describe reports when VMs
are suspended or powered off behind the plugin's back."""

import json
import os
import threading
import time
import unittest

import harness

G = "infrakit.group"
H = "infrakit.config.hash"


class Cattle(harness.PluginTest):

    def provision_parallel(self, n, tags):
        ids, errors = [], []
        lock = threading.Lock()

        def one():
            c = self.p.client()
            try:
                r = c.provision({"VMX": "alpine", "MemorySizeMBs": 256}, tags=dict(tags),
                                init="echo hello")
                with lock:
                    ids.append(r["ID"])
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        return ids

    def test_group_life_cycle(self):
        # Slow VM creation: members are reported while still provisioning.
        self.p.ctl_set("delay", "create", 300)
        ids = self.provision_parallel(5, {G: "cattle", H: "v1", "tier": "web"})
        self.assertEqual(len(set(ids)), 5)
        self.assertEqual(self.c.ids({G: "cattle"}), sorted(ids))
        props = self.c.describe({G: "cattle"}, props=True)
        self.assertTrue(all(d["Properties"]["State"] in ("provisioning", "running")
                            for d in props))
        harness.wait_until(lambda: all(d["Properties"]["State"] == "running" for d in
                                       self.c.describe({G: "cattle"}, props=True)),
                           what="all running")

        # Scale to 3: the group destroys the byte-wise lowest IDs, which
        # are the oldest, and they vanish at once.
        members = self.c.ids({G: "cattle"})
        for iid in members[:2]:
            self.c.destroy(iid)
        self.assertEqual(self.c.ids({G: "cattle"}), members[2:])
        harness.wait_until(lambda: not os.path.exists(self.p.bundle(members[0])) and
                           not os.path.exists(self.p.bundle(members[1])), what="deleted")

        # Rolling update: replace members one by one with the new hash.
        for old in list(self.c.ids({G: "cattle", H: "v1"})):
            self.c.destroy(old, reason="rolling_update")
            self.assertNotIn(old, self.c.ids({G: "cattle"}))
            new = self.c.provision({"VMX": "alpine"}, tags={G: "cattle", H: "v2",
                                                            "tier": "web"})["ID"]
            self.assertIn(new, self.c.ids({G: "cattle", H: "v2"}))
            self.assertEqual(len(self.c.ids({G: "cattle"})), 3)
            # A newer member sorts after every older one.
            self.assertEqual(self.c.ids({G: "cattle"})[-1], new)
        self.assertEqual(len(self.c.ids({G: "cattle", H: "v2"})), 3)
        self.assertEqual(self.c.ids({G: "cattle", H: "v1"}), [])

    def test_filters_are_exact_and(self):
        a = self.c.provision({"VMX": "alpine"}, tags={G: "g1", "tier": "web"})["ID"]
        b = self.c.provision({"VMX": "alpine"}, tags={G: "g1", "tier": "db"})["ID"]
        c = self.c.provision({"VMX": "alpine"}, tags={G: "g2", "tier": "web"})["ID"]
        self.assertEqual(self.c.ids({G: "g1"}), sorted([a, b]))
        self.assertEqual(self.c.ids({G: "g1", "tier": "web"}), [a])
        self.assertEqual(self.c.ids({"tier": "web"}), sorted([a, c]))
        self.assertEqual(self.c.ids({G: "g1", "tier": "Web"}), [])
        self.assertEqual(self.c.ids({G: "g"}), [])
        self.assertEqual(self.c.ids({G: "g1", "zone": ""}), [])
        self.assertEqual(self.c.ids({}), sorted([a, b, c]))
        # Tags null or absent mean all, like {}.
        r = self.c.call("Instance.DescribeInstances", {"Tags": None})
        self.assertEqual(len(r["Descriptions"]), 3)
        r = self.c.call("Instance.DescribeInstances", {})
        self.assertEqual(len(r["Descriptions"]), 3)

    def test_tags_merge_properties_under_spec(self):
        iid = self.c.provision({"VMX": "alpine", "Tags": {"env": "dev", "tier": "props"}},
                               tags={G: "g", "tier": "spec"})["ID"]
        d = self.c.describe({G: "g"})[0]
        self.assertEqual(d["ID"], iid)
        self.assertEqual(d["Tags"], {G: "g", "env": "dev", "tier": "spec"})

    def test_destroy_is_idempotent(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "g"})["ID"]
        self.assertEqual(self.c.destroy(iid), {"Type": "", "OK": True})
        self.assertEqual(self.c.destroy(iid), {"Type": "", "OK": True})
        self.assertEqual(self.c.destroy("i-nonexistent"), {"Type": "", "OK": True})
        self.assertEqual(self.c.destroy("../../../etc"), {"Type": "", "OK": True})
        harness.wait_until(lambda: not os.path.exists(os.path.join(self.p.vm_dir, iid)),
                           what="record removed")
        self.assertEqual(self.c.destroy(iid), {"Type": "", "OK": True})
        self.assertIn("instance %s: destroying (terminate)" % iid, self.p.log())

    def test_describe_properties(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "g"}, logical_id="web-1")["ID"]
        harness.wait_until(lambda: self.c.describe(props=True)[0]["Properties"]["State"] ==
                           "running", what="running")
        d = self.c.describe(props=True)[0]
        p = d["Properties"]
        self.assertEqual(p["State"], "running")
        self.assertEqual(p["PowerState"], "running")
        self.assertEqual(p["Backend"], "test")
        self.assertEqual(p["Template"], "alpine")
        self.assertEqual(p["VMX"], os.path.join(self.p.vm_dir, iid, iid + ".vmwarevm",
                                                iid + ".vmx"))
        self.assertTrue(os.path.exists(p["VMX"]))
        self.assertRegex(p["CreatedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("Error", p)
        self.assertEqual(d["LogicalID"], "web-1")
        # Without the flag there is no Properties member (pre-0.5 shape).
        self.assertNotIn("Properties", self.c.describe()[0])

    def test_suspended_or_off_behind_our_back(self):
        ids = [self.c.provision({"VMX": "alpine"}, tags={G: "g"})["ID"] for _ in range(3)]
        harness.wait_until(lambda: all(os.path.exists(os.path.join(self.p.bundle(i), "running"))
                                       for i in ids), what="running")
        # Suspend one and power another off outside the plugin.
        open(os.path.join(self.p.bundle(ids[0]), "suspended"), "w").close()
        os.unlink(os.path.join(self.p.bundle(ids[1]), "running"))
        harness.wait_until(lambda: self.c.ids({G: "g"}) == [ids[2]], what="only one reported")
        # They stay on disk and in describe --all.
        allv = {d["ID"]: d for d in self.c.describe(all_=True)}
        self.assertEqual(allv[ids[0]]["Properties"]["PowerState"], "suspended")
        self.assertEqual(allv[ids[1]]["Properties"]["PowerState"], "off")
        self.assertTrue(os.path.isdir(self.p.bundle(ids[0])))
        # The group refills; then the user resumes: it rejoins.
        new = self.c.provision({"VMX": "alpine"}, tags={G: "g"})["ID"]
        os.unlink(os.path.join(self.p.bundle(ids[0]), "suspended"))
        harness.wait_until(lambda: self.c.ids({G: "g"}) == sorted([ids[0], ids[2], new]),
                           what="resumed one rejoins")

    def test_types(self):
        served = self.c.call("Handshake.Types")["Types"]["Instance/0.6.1"]
        self.assertEqual(served[0], ".")
        self.assertIn("test", served)
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "t"}, typ="test")["ID"]
        self.assertEqual(self.c.ids({G: "t"}, typ="test"), [iid])
        self.assertEqual(self.c.ids({G: "t"}), [iid])  # test is the default here
        err = self.c.provision({"VMX": "alpine"}, typ="compute", want_error=True)
        self.assertIn("no-plugin:compute", err["message"])
        self.assertIn('"test"', err["message"])
        err = self.c.call("Instance.DescribeInstances", {"Type": "fusion"}, want_error=True)
        self.assertIn("no-plugin:fusion", err["message"])

    def test_validate_has_no_side_effects(self):
        before = sorted(os.listdir(self.p.vm_dir))
        self.assertEqual(self.c.validate({"VMX": "alpine"}), {"Type": "", "OK": True})
        err = self.c.validate({"VMX": "missing"}, want_error=True)
        self.assertIn('template "missing" not found', err["message"])
        self.assertIn(os.path.join(self.p.vm_lib, "missing.vmwarevm", "missing.vmx"),
                      err["message"])
        self.assertEqual(sorted(os.listdir(self.p.vm_dir)), before)
        # Provision runs the same checks and creates nothing on refusal.
        err = self.c.provision({"VMX": "missing"}, want_error=True)
        self.assertIn("not found", err["message"])
        err = self.c.provision({"VMX": "alpine", "NumCPUs": 0}, want_error=True)
        self.assertIn("NumCPUs", err["message"])
        self.assertEqual(sorted(os.listdir(self.p.vm_dir)), before)
        self.assertEqual(self.c.describe(all_=True), [])

    def test_workstation_layout(self):
        harness.make_template(self.p.vm_lib, "ubuntu", fusion=False)
        self.assertEqual(self.c.validate({"VMX": "ubuntu"}), {"Type": "", "OK": True})


class Pets(harness.PluginTest):

    def test_pets_and_replacement(self):
        lids = ["192.168.0.11", "192.168.0.12"]
        for lid in lids:
            self.c.provision({"VMX": "alpine"}, tags={G: "pets", "infrakit.logical_id": lid},
                             logical_id=lid)
        ds = self.c.describe({G: "pets"})
        self.assertEqual(sorted(d["LogicalID"] for d in ds), lids)
        harness.wait_until(lambda: all(d["Properties"]["State"] == "running"
                                       for d in self.c.describe({G: "pets"}, props=True)),
                           what="pets running")
        # A pet's VM goes away behind InfraKit's back: the quorum
        # supervisor provisions a replacement with the same LogicalID.
        lost = [d for d in self.c.describe({G: "pets"}) if d["LogicalID"] == lids[0]][0]
        os.unlink(os.path.join(self.p.bundle(lost["ID"]), "running"))
        harness.wait_until(lambda: lids[0] not in [d["LogicalID"] for d in
                                                   self.c.describe({G: "pets"})],
                           what="lost pet not reported")
        new = self.c.provision({"VMX": "alpine"}, tags={G: "pets"}, logical_id=lids[0])["ID"]
        ds = {d["LogicalID"]: d["ID"] for d in self.c.describe({G: "pets"})}
        self.assertEqual(ds[lids[0]], new)
        self.assertEqual(len(ds), 2)

    def test_label_merges_and_persists(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "cattle", "infrakit.config_sha":
                                                        "bootstrap", "keep": "me"})["ID"]
        self.c.label(iid, {"infrakit.config_sha": "ujv8_D5MIXv4pcLIL7qH1eHDC-s=", "new": "x"})
        want = {G: "cattle", "infrakit.config_sha": "ujv8_D5MIXv4pcLIL7qH1eHDC-s=",
                "keep": "me", "new": "x"}
        self.assertEqual(self.c.describe()[0]["Tags"], want)
        err = self.c.label("i-0000000000z", {"a": "b"}, want_error=True)
        self.assertIn("no instance i-0000000000z", err["message"])
        # Survives a restart, and a kill -9.
        self.c.close()
        self.p.stop()
        p2 = self.new_plugin()
        p2.start()
        self.c = p2.client()
        self.assertEqual(self.c.describe()[0]["Tags"], want)
        self.c.label(iid, {"after": "restart"})
        self.c.close()
        p2.kill9()
        p3 = self.new_plugin()
        p3.start()
        self.c = p3.client()
        self.assertEqual(self.c.describe()[0]["Tags"]["after"], "restart")


class Rollback(harness.PluginTest):

    def test_failure_in_background_is_rolled_back(self):
        for op in ("create", "start"):
            with self.subTest(op=op):
                self.p.ctl_set("fail", op, "no licence for " + op)
                iid = self.c.provision({"VMX": "alpine"}, tags={G: "f"})["ID"]
                # Reported at first (provisioning), then gone.
                harness.wait_until(lambda: iid not in self.c.ids({G: "f"}), what="rolled back")
                d = [d for d in self.c.describe(all_=True) if d["ID"] == iid][0]
                self.assertEqual(d["Properties"]["State"], "failed")
                self.assertIn("no licence for " + op, d["Properties"]["Error"])
                self.assertFalse(os.path.exists(self.p.bundle(iid)))
                self.assertEqual(os.listdir(os.path.join(self.p.vm_dir, ".staging")), [])
                self.assertIn("provision failed", self.p.log())
                self.p.ctl_clear("fail", op)
                # And the plugin keeps serving.
                ok = self.c.provision({"VMX": "alpine"}, tags={G: "f"})["ID"]
                harness.wait_until(lambda: os.path.exists(os.path.join(self.p.bundle(ok),
                                                                       "running")),
                                   what="next one runs")
                # Destroying the failed record cleans it up.
                self.c.destroy(iid)
                harness.wait_until(lambda: not os.path.exists(os.path.join(self.p.vm_dir, iid)),
                                   what="failed record removed")

    def test_stop_failure_is_retried(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "r"})["ID"]
        harness.wait_until(lambda: os.path.exists(os.path.join(self.p.bundle(iid), "running")),
                           what="running")
        self.p.ctl_set("fail", "stop", "vmrun stop hung")
        self.p.ctl_set("fail", "softstop", "no tools")
        self.c.destroy(iid)
        self.assertEqual(self.c.ids({G: "r"}), [])
        harness.wait_until(lambda: "destroy failed, retrying" in self.p.log(), what="retry")
        self.assertTrue(os.path.isdir(self.p.bundle(iid)))  # not deleted while running
        self.p.ctl_clear("fail", "stop")
        harness.wait_until(lambda: not os.path.exists(os.path.join(self.p.vm_dir, iid)),
                           timeout=30, what="destroyed after retry")

    def test_hang_is_cut_at_the_deadline(self):
        self.c.close()
        self.p.stop()
        p = self.new_plugin(args=["--op-timeout", "1s"])
        p.start()
        self.c = p.client()
        p.ctl_set("hang", "create")
        t0 = time.time()
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "h"})["ID"]
        self.assertLess(time.time() - t0, harness.RPC_LIMIT)
        harness.wait_until(lambda: iid not in self.c.ids({G: "h"}), timeout=10,
                           what="rolled back at the deadline")
        self.assertLess(time.time() - t0, 6)
        d = [d for d in self.c.describe(all_=True) if d["ID"] == iid][0]
        self.assertIn("deadline", d["Properties"]["Error"])


if __name__ == "__main__":
    harness.main()
