#!/usr/bin/env python3
"""The built-in group controller through the real socket and the CLI, with
the test backend: cattle kept at Size (3 -> 5 -> 2, the oldest destroyed),
pets kept per LogicalID with their Attachments, rolling updates (one at a
time, a failing replacement that halts the roll and says why, a second
commit mid-roll), free then commit (re-adoption without churn), kill -9
mid-roll and mid-scale, a template that cannot boot (bounded attempts), the
restart policy, InfraKit's Group API shapes and hashes (spec
infrakit-group.md §5.7, §8 vector V1), so a group hands over to a real
InfraKit group plugin and back without replacing a VM."""

import json
import os
import time
import unittest

import harness

G = "infrakit.group"
H = "infrakit.config.hash"
SHA = "infrakit.config_sha"
LID = "infrakit.logical_id"
# Spec vector V1 (infrakit-group.md §8): InfraKit v0.5 and master hash it so.
V1_HASH = "aszpg6rn65qd77waeizd6xqqogf7t6n2"
FAST = {"Backoff": "100ms", "BackoffMax": "200ms"}


def spec(gid="cattle", size=None, lids=None, init=("echo v1",), tags=None,
         plugin="vmware-fusion", props=None, flavor_extra=None, **extra):
    alloc = {"LogicalIDs": list(lids)} if lids else {"Size": size}
    fprops = {"Init": list(init), "Tags": tags if tags is not None else {"tier": "web"}}
    fprops.update(flavor_extra or {})
    p = {"Allocation": alloc,
         "Instance": {"Plugin": plugin, "Properties": props or {"VMX": "alpine"}},
         "Flavor": {"Plugin": "vanilla", "Properties": fprops}}
    p.update(extra)
    return {"ID": gid, "Properties": p}


def v1_spec(gid="cattle", size=3, plugin="instance-vmware"):
    return {"ID": gid, "Properties": {
        "Allocation": {"Size": size},
        "Instance": {"Plugin": plugin, "Properties": {
            "VMX": "alpine-3.4.4", "MemorySizeMBs": 512, "NumCPUs": 1}},
        "Flavor": {"Plugin": "flavor-vanilla", "Properties": {
            "Init": ["echo hello"], "Tags": {"tier": "web"}}}}}


class GroupTest(harness.PluginTest):
    """Helpers over the Group API of self.p."""

    def commit(self, s, pretend=False, client=None, **kw):
        c = client or self.c
        return c.call("Group.CommitGroup", {"Spec": s, "Pretend": pretend}, **kw)

    def status(self, gid="cattle", client=None):
        c = client or self.c
        return c.call("Group.DescribeGroup", {"ID": gid, "All": True})

    def members(self, gid="cattle", client=None):
        c = client or self.c
        return sorted(c.describe({G: gid}), key=lambda d: d["ID"])

    def wait_steady(self, gid="cattle", n=None, client=None, timeout=30, what=None):
        def ok():
            st = self.status(gid, client)["Status"]
            return st["Steady"] and (n is None or st["Running"] == n) and st
        return harness.wait_until(ok, timeout=timeout * harness.SLOW,
                                  what=what or "group %s steady at %s" % (gid, n))

    def ops(self, op):
        return [o[1] for o in self.p.ops_log() if o and o[0] == op]

    def write_spec(self, s, name="g.json"):
        path = os.path.join(self.base, name)
        with open(path, "w") as f:
            json.dump(s, f)
        return path

    def cli(self, *args, check=True, plugin=None):
        return (plugin or self.p).run_cli("group", *args, check=check)

    def hashes(self, gid="cattle", tag=H):
        return sorted(d["Tags"].get(tag) for d in self.members(gid))


class Cattle(GroupTest):

    def test_scale_3_5_2_destroys_the_oldest(self):
        p = self.cli("commit", self.write_spec(spec(size=3)))
        self.assertEqual(p.stdout.splitlines(),
                         ["Committed cattle: Managing 3 instances",
                          "plan: create 3, destroy 0, roll 0"])
        self.wait_steady(n=3)
        three = [d["ID"] for d in self.members()]
        for d in self.members():
            self.assertEqual(d["Tags"][G], "cattle")
            self.assertEqual(d["Tags"]["tier"], "web")
            self.assertRegex(d["Tags"][H], r"^[a-z2-7]{32}$")
        p = self.cli("commit", self.write_spec(spec(size=5)))
        self.assertIn("Adding 2 instances to increase the group size to 5", p.stdout)
        self.wait_steady(n=5)
        five = [d["ID"] for d in self.members()]
        self.assertTrue(set(three) <= set(five))
        # The pretend commit says what it would do and changes nothing.
        p = self.cli("commit", "--pretend", self.write_spec(spec(size=2)))
        self.assertEqual(p.stdout.splitlines(),
                         ["Committing cattle would involve: Terminating 3 instances to "
                          "reduce the group size to 2",
                          "plan: create 0, destroy 3, roll 0 (pretend: nothing changed)"])
        self.assertEqual([d["ID"] for d in self.members()], five)
        self.cli("commit", self.write_spec(spec(size=2)))
        # The byte-wise lowest IDs, the oldest, go.
        self.wait_steady(n=2)
        self.assertEqual([d["ID"] for d in self.members()], sorted(five)[3:])
        # Their VMs are powered off in the background.
        harness.wait_until(lambda: sorted(self.ops("softstop")) == sorted(five)[:3],
                           what="the 3 oldest powered off")
        self.assertEqual(len(self.ops("create")), 5)
        ls = self.cli("ls").stdout.splitlines()
        self.assertEqual(ls[0].split()[:4], ["ID", "KIND", "STATE", "SIZE"])
        self.assertEqual(ls[1].split()[:5], ["cattle", "cattle", "managing", "2", "2"])
        self.assertIn("converged: 2 of 2 running", ls[1])

    def test_stopped_member_is_replaced_within_a_second(self):
        self.commit(spec(size=2))
        self.wait_steady(n=2)
        victim = self.members()[0]["ID"]
        before = len(self.ops("create"))
        t0 = time.time()
        os.unlink(os.path.join(self.p.bundle(victim), "running"))
        harness.wait_until(lambda: len(self.ops("create")) > before, timeout=10,
                           interval=0.01, what="a replacement's create")
        took = time.time() - t0
        # One power refresh (200 ms here) plus the reaction, no poll tick.
        self.assertLess(took, 2.0 * harness.SLOW)
        self.wait_steady(n=2)
        self.assertNotIn(victim, [d["ID"] for d in self.members()])
        # InfraKit's way: the stopped VM is left on disk, not destroyed.
        self.assertTrue(os.path.isdir(self.p.bundle(victim)))
        self.assertEqual(len(self.ops("create")), before + 1)


class Restart(GroupTest):

    plugin_args = ("--group-restart-wait", "500ms")

    def test_restart_policy_starts_in_place_then_replaces(self):
        self.commit(spec(size=2, Recovery={"RestartPolicy": "restart"}))
        self.wait_steady(n=2)
        ids = [d["ID"] for d in self.members()]
        creates = len(self.ops("create"))
        os.unlink(os.path.join(self.p.bundle(ids[0]), "running"))
        harness.wait_until(lambda: self.ops("start").count(ids[0]) == 2, timeout=10,
                           what="the stopped member started again")
        self.wait_steady(n=2)
        self.assertEqual([d["ID"] for d in self.members()], ids)
        self.assertEqual(len(self.ops("create")), creates)
        # A VM that cannot start is replaced once its 2 restarts are spent.
        self.p.ctl_set("fail", "start", "no power")
        os.unlink(os.path.join(self.p.bundle(ids[1]), "running"))
        harness.wait_until(lambda: self.ops("start").count(ids[1]) == 3, timeout=10,
                           what="two failing restarts")
        self.p.ctl_clear("fail", "start")
        harness.wait_until(lambda: len(self.ops("create")) == creates + 1, timeout=10,
                           what="the replacement")
        self.wait_steady(n=2)
        self.assertEqual(self.ops("start").count(ids[1]), 3)
        now = [d["ID"] for d in self.members()]
        self.assertIn(ids[0], now)
        self.assertNotIn(ids[1], now)
        self.assertIn("did not start again after 2 tries; replacing it", self.p.log())


class Pets(GroupTest):

    def record(self, iid):
        path = os.path.join(self.p.vm_dir, iid, "instance.json")
        harness.wait_until(lambda: os.path.exists(path), what="instance.json of " + iid)
        with open(path) as f:
            return json.load(f)

    def test_pets_keep_their_logical_ids_and_attachments(self):
        # Not a disk type: the vanilla flavor gives every pet the same
        # list, and a disk is one pet's at a time (test_pets.py).
        att = [{"ID": "disk-1", "Type": "nfs"}]
        self.commit(spec("db", lids=["db-1", "db-2"], tags={"tier": "db"},
                         flavor_extra={"Attachments": att}))
        self.wait_steady("db", n=2)
        ms = self.members("db")
        self.assertEqual(sorted(d["LogicalID"] for d in ms), ["db-1", "db-2"])
        for d in ms:
            self.assertEqual(d["Tags"][LID], d["LogicalID"])
            rec = self.record(d["ID"])
            self.assertEqual(rec["Spec"]["Attachments"], att)
            self.assertEqual(rec["Spec"]["LogicalID"], d["LogicalID"])
            self.assertEqual(rec["Spec"]["Init"], "echo v1")
        # A lost pet comes back under its LogicalID.
        lost = [d for d in ms if d["LogicalID"] == "db-1"][0]["ID"]
        self.c.destroy(lost)
        self.wait_steady("db", n=2)
        again = {d["LogicalID"]: d["ID"] for d in self.members("db")}
        self.assertNotEqual(again["db-1"], lost)
        self.assertEqual(self.record(again["db-1"])["Spec"]["Attachments"], att)
        # So does one powered off behind our back.
        off = again["db-2"]
        os.unlink(os.path.join(self.p.bundle(off), "running"))
        harness.wait_until(lambda: {d["LogicalID"] for d in self.members("db")
                                    if d["ID"] != off} == {"db-1", "db-2"},
                           what="db-2 re-created")
        self.wait_steady("db", n=2)
        # Changing the LogicalIDs is refused (InfraKit's rule, Q10).
        e = self.commit(spec("db", lids=["db-2", "db-1"]), want_error=True)
        self.assertIn("Logical ID changes to a quorum is not currently supported",
                      e["message"])


class Rolling(GroupTest):

    def test_roll_one_at_a_time_waiting_for_running(self):
        self.p.ctl_set("delay", "create", 300)
        self.commit(spec(size=3))
        self.wait_steady(n=3)
        old = set(d["ID"] for d in self.members())
        r = self.commit(spec(size=3, init=["echo v2"]))
        self.assertEqual(r["Details"], "Committed cattle: Performing a rolling update on 3 instances")
        self.assertEqual(r["Plan"], {"Create": 0, "Destroy": 0, "Roll": 3, "Pretend": False})
        # Never fewer than 2 up (MaxUnavailable 1), never more than 3 counted.
        seen_max = 0
        end = time.time() + 30
        while time.time() < end:
            st = self.status()["Status"]
            self.assertGreaterEqual(st["Running"], 2, st)
            self.assertLessEqual(st["Running"] + st["Provisioning"], 3, st)
            seen_max = max(seen_max, st["Provisioning"])
            if st["Steady"]:
                break
            time.sleep(0.02)
        self.assertEqual(seen_max, 1)
        now = self.members()
        self.assertEqual(len(now), 3)
        self.assertFalse(old & set(d["ID"] for d in now))
        self.assertEqual(len(set(self.hashes())), 1)
        # The roll destroyed the old members lowest ID first.
        harness.wait_until(lambda: self.ops("softstop") == sorted(old),
                           what="the old members powered off in ID order")

    def test_failing_replacement_halts_the_roll(self):
        rec = dict(FAST, MaxFailures=2)
        self.commit(spec(size=3, Recovery=rec))
        self.wait_steady(n=3)
        before = len(self.ops("create"))
        self.p.ctl_set("fail", "create", "template disk is gone")
        self.commit(spec(size=3, init=["echo v2"], Recovery=rec))
        st = harness.wait_until(
            lambda: (lambda s: s["Failures"] == 2 and "halted" in s["Doing"] and s)(
                self.status()["Status"]), what="the roll halted")
        self.assertIn("rolling update halted: 2 provisions failed in a row "
                      "(Recovery.MaxFailures is 2)", st["Doing"])
        self.assertIn("template disk is gone", st["Error"])
        self.assertEqual(st["Running"], 2)
        time.sleep(0.5)  # several back-off periods: nothing more is tried
        self.assertEqual(len(self.ops("create")) - before, 2)
        self.assertEqual(self.status()["Status"]["Running"], 2)
        # Fixed and committed again: the roll goes on to the end.
        self.p.ctl_clear("fail", "create")
        self.commit(spec(size=3, init=["echo v2"], Recovery=rec))
        self.wait_steady(n=3)
        self.assertEqual(len(set(self.hashes())), 1)

    def test_second_commit_mid_roll_replans(self):
        self.commit(spec(size=3))
        self.wait_steady(n=3)
        v1 = self.hashes()[0]
        self.p.ctl_set("delay", "create", 800)
        self.commit(spec(size=3, init=["echo v2"]))
        harness.wait_until(lambda: self.status()["Status"]["Provisioning"] == 1,
                           what="the first v2 member provisioning")
        r = self.commit(spec(size=3, init=["echo v3"]))
        # The v2 member in flight is outdated too.
        self.assertEqual(r["Details"], "Committed cattle: Performing a rolling update on 3 instances")
        self.p.ctl_clear("delay", "create")
        self.wait_steady(n=3)
        hs = self.hashes()
        self.assertEqual(len(set(hs)), 1)
        self.assertNotEqual(hs[0], v1)
        self.assertEqual(len(self.members()), 3)
        self.assertIn("rolling update to", self.p.log())
        self.assertIn("halted by the commit of", self.p.log())


class Adoption(GroupTest):

    def test_free_then_commit_readopts_without_churn(self):
        self.commit(spec(size=3))
        self.wait_steady(n=3)
        ids = [d["ID"] for d in self.members()]
        p = self.cli("free", "cattle")
        self.assertIn("Freed cattle", p.stdout)
        self.assertEqual(self.c.call("Group.InspectGroups", {})["Groups"], [])
        self.assertEqual(os.listdir(os.path.join(self.p.vm_dir, "groups")), [])
        self.assertEqual([d["ID"] for d in self.members()], ids)
        ops = len(self.p.ops_log())
        r = self.commit(spec(size=3))
        self.assertEqual(r["Details"], "Committed cattle: Managing 3 instances")
        self.wait_steady(n=3)
        self.assertEqual([d["ID"] for d in self.members()], ids)
        # Only power refreshes since: no create, no destroy.
        self.assertEqual([o for o in self.p.ops_log()[ops:] if o[0] != "power"], [])
        self.assertEqual(self.commit(spec(size=3))["Details"], "Committed cattle: Noop")

    def test_bootstrap_member_is_labelled_and_adopted(self):
        # An instance made by hand for adoption (spec §2.3): its hash tag
        # says "bootstrap"; the group labels it with the real hash.
        iid = self.c.provision({"VMX": "alpine"},
                               tags={G: "cattle", H: "bootstrap", "tier": "web"})["ID"]
        harness.wait_until(lambda: self.ops("start") == [iid], what="it runs")
        self.commit(spec(size=2))
        self.wait_steady(n=2)
        st = self.status()["Status"]
        ms = {d["ID"]: d for d in self.members()}
        self.assertIn(iid, ms)
        self.assertEqual(ms[iid]["Tags"][H], st["Hash"])
        self.assertEqual(len(self.ops("create")), 2)
        self.assertIn("adopting " + iid, self.p.log())

    def test_unknown_group(self):
        for m in ("Group.FreeGroup", "Group.DestroyGroup", "Group.DescribeGroup"):
            e = self.c.call(m, {"ID": "nope"}, want_error=True)
            self.assertEqual(e["code"], -32000)
            self.assertIn("Group 'nope' is not being watched", e["message"])
        e = self.c.call("Group.Size", {"ID": "nope"}, want_error=True)
        self.assertIn("'nope' is not being watched", e["message"])


class Crash(GroupTest):

    def restart(self):
        self.c.close()
        self.p.kill9()
        self.p.start()
        self.c = self.p.client()

    def test_kill9_mid_roll(self):
        self.commit(spec(size=3))
        self.wait_steady(n=3)
        self.p.ctl_set("delay", "create", 600)
        self.commit(spec(size=3, init=["echo v2"]))
        harness.wait_until(lambda: len(self.ops("softstop")) >= 1 and
                           self.status()["Status"]["Provisioning"] == 1,
                           what="mid-roll")
        self.restart()
        self.assertIn("resuming its rolling update", self.p.log())
        self.wait_steady(n=3, timeout=60)
        ms = self.members()
        self.assertEqual(len(ms), 3)
        self.assertEqual(len(set(self.hashes())), 1)
        allm = self.status()["Description"]["Instances"]
        self.assertEqual(len([d for d in allm if d["Properties"]["State"] == "running"]), 3)

    def test_kill9_mid_scale(self):
        self.commit(spec(size=2))
        self.wait_steady(n=2)
        self.p.ctl_set("delay", "create", 1500)
        self.commit(spec(size=6))
        harness.wait_until(lambda: self.status()["Status"]["Provisioning"] == 4,
                           what="4 creates under way")
        self.restart()
        self.p.ctl_clear("delay", "create")
        self.wait_steady(n=6, timeout=60)
        self.assertEqual(len(self.members()), 6)
        # Nothing was made twice: 2 + 4 creates in all.
        self.assertEqual(len(set(self.ops("create"))), 6)
        self.assertEqual(self.ops("softstop"), [])

    def test_kill9_mid_destroy(self):
        self.commit(spec(size=3))
        self.wait_steady(n=3)
        self.p.ctl_set("delay", "softstop", 2000)
        p = self.cli("destroy", "cattle")
        self.assertIn("Destroy cattle initiated", p.stdout)
        self.assertEqual(self.members(), [])
        self.restart()
        self.p.ctl_clear("delay", "softstop")
        harness.wait_until(lambda: self.c.call("Group.InspectGroups", {})["Groups"] == [],
                           timeout=30, what="the group gone")
        self.assertEqual(self.c.describe(all_=True), [])
        self.assertEqual(os.listdir(os.path.join(self.p.vm_dir, "groups")), [])


class Failures(GroupTest):

    def test_template_that_cannot_boot_is_tried_a_bounded_number_of_times(self):
        self.p.ctl_set("fail", "start", "kernel panic")
        self.commit(spec(size=5, Recovery=dict(FAST, MaxFailures=3)))
        st = harness.wait_until(
            lambda: (lambda s: s["Failures"] >= 3 and s)(self.status()["Status"]),
            what="3 failures")
        time.sleep(1.0)  # five back-off ceilings: a runaway would show
        self.assertEqual(len(self.ops("create")), 3)
        st = self.status()["Status"]
        self.assertEqual(st["Failures"], 3)
        self.assertEqual(st["Running"], 0)
        self.assertIn("holding 5 creates: 3 provisions failed in a row", st["Doing"])
        self.assertIn("kernel panic", st["Error"])
        self.assertFalse(st["Steady"])
        d = self.cli("describe", "cattle", "--all").stdout
        self.assertIn("failures  3 in a row (Recovery.MaxFailures 3)", d)
        self.assertIn("error     ", d)
        self.assertEqual(d.count("failed*"), 3)
        # The next commit tries again, as many times at most.
        self.p.ctl_clear("fail", "start")
        self.commit(spec(size=5, Recovery=dict(FAST, MaxFailures=3)))
        self.wait_steady(n=5)

    def test_refused_specs_name_the_field(self):
        cases = [
            (spec(size=0), "Allocation must not be blank"),
            (spec(size=2, lids=None, props={"VMX": "nosuch"}), 'template "nosuch" not found'),
            (spec(size=2, props={"VMX": "alpine", "MemorySizeMb": 5}), "did you mean"),
            (spec(size=2, plugin="instance-file"), "Failed to find Instance plugin 'instance-file'"),
            (spec(size=2, tags={G: "other"}), "infrakit.group"),
            ({"ID": "", "Properties": {}}, "Group ID must not be blank"),
        ]
        for s, want in cases:
            with self.subTest(want=want):
                e = self.commit(s, want_error=True)
                self.assertEqual(e["code"], -32000)
                self.assertIn(want, e["message"])
        self.assertEqual(self.c.call("Group.InspectGroups", {})["Groups"], [])
        p = self.cli("commit", self.write_spec(spec(size=2, props={"VMX": "nosuch"})),
                     check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("nosuch", p.stderr)
        bad = os.path.join(self.base, "bad.json")
        with open(bad, "w") as f:
            f.write('{"ID": "x",\n "Properties": }')
        p = self.cli("commit", bad, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("line 2", p.stderr)


    def test_error_paths(self):
        """Issue 13: messages name the value by its path in what was sent,
        from the top of params: CommitGroup's spec is params.Spec, so
        Spec.Properties...; SetSize's Size is Size."""
        cases = [
            (spec(size=2, props={"VMX": "alpine", "MemorySizeMBs": 16}),
             "Spec.Properties.Instance.Properties.MemorySizeMBs is 16; it must be "
             "between 32 and 1048576"),
            (spec(size="3"), "Spec.Properties.Allocation.Size must be an integer >= 0"),
            ({"ID": 5}, "Spec.ID must be a string"),
            (spec(size=2, props={"VMX": "nosuch"}),
             'Spec.Properties.Instance.Properties.VMX: template "nosuch" not found'),
        ]
        for s, want in cases:
            with self.subTest(want=want):
                e = self.commit(s, want_error=True)
                self.assertTrue(e["message"].startswith(want), e["message"])
        e = self.c.call("Group.SetSize", {"ID": "cattle", "Size": "3"}, want_error=True)
        self.assertEqual(e["message"], 'Size must be an integer, got "3" (a string)')
        e = self.c.call("Group.CommitGroup", {}, want_error=True)
        self.assertTrue(e["message"].startswith("Spec is missing"), e["message"])


class InfraKitAPI(GroupTest):

    def test_handshakes_list_group(self):
        apis = self.c.call("Handshake.Implements")["APIs"]
        self.assertIn({"Name": "Group", "Version": "0.1.0"}, apis)
        self.assertIn({"Name": "Group", "Version": "0.1.1"}, apis)
        self.assertIn({"Name": "Instance", "Version": "0.5.0"}, apis)
        self.assertEqual(self.c.call("Handshake.Types")["Types"]["Group/0.1.1"], ["."])
        self.assertEqual(self.c.call("Handshake.Hello")["Objects"]["Group/0.1.0"],
                         [{"Name": ".", "ProxyFor": ""}])

    def test_method_shapes(self):
        r = self.commit(spec(size=2), pretend=True)
        self.assertEqual(r["Details"], "Committing cattle would involve: Managing 2 instances")
        self.assertEqual(r["ID"], "cattle")
        self.assertEqual(self.c.call("Group.InspectGroups", {})["Groups"], [])
        r = self.c.call("Group.CommitGroup", {"Spec": spec(size=2), "Pretend": False,
                                              "Name": "group/cattle"})
        self.assertEqual(r["Name"], "group/cattle")
        self.wait_steady(n=2)
        g = self.c.call("Group.InspectGroups", {})["Groups"]
        self.assertEqual(len(g), 1)
        self.assertEqual(g[0]["ID"], "cattle")
        props = g[0]["Properties"]
        self.assertEqual(props["Allocation"], {"Size": 2, "LogicalIDs": None})
        self.assertEqual(props["Instance"], {"Plugin": "vmware-fusion",
                                             "Properties": {"VMX": "alpine"}})
        self.assertEqual(props["Updating"]["Duration"], "0s")
        d = self.c.call("Group.DescribeGroup", {"ID": "cattle"})
        self.assertIs(d["Description"]["Converged"], True)
        self.assertEqual(len(d["Description"]["Instances"]), 2)
        for i in d["Description"]["Instances"]:
            self.assertEqual(i["Tags"][G], "cattle")
            self.assertEqual(i["Properties"]["State"], "running")
        self.assertEqual(self.c.call("Group.Size", {"ID": "cattle"})["Size"], 2)
        r = self.c.call("Group.SetSize", {"ID": "cattle", "Size": 4})
        self.assertEqual(r["Details"], "Committed cattle: Adding 2 instances to increase "
                         "the group size to 4")
        self.wait_steady(n=4)
        e = self.c.call("Group.SetSize", {"ID": "cattle", "Size": -1}, want_error=True)
        self.assertIn("size cannot be negative", e["message"])
        # DestroyInstances: the Size drops by the members named (Q14 fixed).
        ids = [m["ID"] for m in self.members()]
        self.c.call("Group.DestroyInstances", {"ID": "cattle",
                                               "Instances": [ids[3], "i-nope"]})
        self.assertEqual(self.c.call("Group.Size", {"ID": "cattle"})["Size"], 3)
        self.wait_steady(n=3)
        self.assertNotIn(ids[3], [m["ID"] for m in self.members()])
        self.assertEqual(self.c.call("Group.FreeGroup", {"ID": "cattle"}),
                         {"ID": "cattle", "OK": True})

    def test_examples_commit(self):
        harness.make_template(self.p.vm_lib, "tiny")
        harness.make_template(self.p.vm_lib, "alpine-3.4.4")
        ex = os.path.join(harness.REPO_DIR, "examples")
        names = sorted(n for n in os.listdir(ex) if n.endswith(".json"))
        self.assertEqual(len(names), 4)
        for n in names:
            with self.subTest(example=n):
                p = self.cli("commit", "--pretend", os.path.join(ex, n))
                self.assertRegex(p.stdout, r"^Committing \S+ would involve: Managing \d+ "
                                 r"instances\n")

    def test_cli_help(self):
        for verb in ("commit", "ls", "describe", "destroy", "free", "scale", "inspect"):
            p = self.cli(verb, "--help")
            self.assertTrue(p.stdout.startswith("usage: "), p.stdout)
            self.assertIn("group " + verb, p.stdout)
        p = self.cli("frobnicate", check=False)
        self.assertEqual(p.returncode, 2)


class Handover(GroupTest):
    """The hash and tags of InfraKit itself, both ways (spec §3.1, §8)."""

    start_plugin = False

    def plugin(self, *args):
        p = self.new_plugin(name="instance-vmware", args=list(args))
        harness.make_template(p.vm_lib, "alpine-3.4.4")
        p.start()
        self.p = p
        self.c = p.client()
        return p

    def test_built_in_members_carry_infrakits_tags(self):
        self.plugin()
        self.commit(v1_spec())
        self.wait_steady(n=3)
        for d in self.members():
            # Exactly what InfraKit master's CreateOne + vanilla would set.
            self.assertEqual(d["Tags"], {G: "cattle", H: V1_HASH, "tier": "web"})
            self.assertIsNone(d["LogicalID"])
        st = self.status()["Status"]
        self.assertEqual((st["HashTag"], st["Hash"]), (H, V1_HASH))

    def test_v05_hash_tag(self):
        self.plugin("--group-hash-tag", "v0.5")
        self.commit(v1_spec(size=1))
        self.wait_steady(n=1)
        self.assertEqual(self.members()[0]["Tags"], {G: "cattle", SHA: V1_HASH, "tier": "web"})

    def test_members_made_by_infrakit_are_adopted_as_they_are(self):
        self.plugin()
        made = [self.c.provision({"VMX": "alpine-3.4.4", "MemorySizeMBs": 512, "NumCPUs": 1},
                                 tags={G: "cattle", H: V1_HASH, "tier": "web"},
                                 init="echo hello")["ID"] for _ in range(3)]
        harness.wait_until(lambda: len(self.ops("start")) == 3, what="3 running")
        r = self.commit(v1_spec())
        self.assertEqual(r["Details"], "Committed cattle: Managing 3 instances")
        self.wait_steady(n=3)
        self.assertEqual(self.commit(v1_spec())["Details"], "Committed cattle: Noop")
        self.assertEqual(sorted(made), [d["ID"] for d in self.members()])
        self.assertEqual(len(self.ops("create")), 3)
        self.assertEqual(self.ops("softstop"), [])


if __name__ == "__main__":
    harness.main()
