#!/usr/bin/env python3
"""Regression tests for the adversarial review (issue 11): each class is one
defect that 0.1.0 had, shown the way it was found.

  DestroyDurability  a retried Destroy was answered OK before it was durable
  LabelBounds        labels grew records past what the store reloads
  JournalDamage      one bad journal entry dropped every later one
  Flood              idle/trickling connections locked clients out, EMFILE
  BrowserRequests    a web page could drive the loopback TCP listener
  Symlinks           links in --vm-dir were followed
  FullDiskRestart    a full disk stopped the daemon from starting
  LongVmDir          a too-long --vm-dir was accepted
  DestroyBehindCreates  Destroys queued behind hung creates
  IdDrift            IDs moved 60 s ahead per restart
"""

import json
import os
import resource
import socket
import subprocess
import threading
import time
import unittest
import zlib

import harness

G = "infrakit.group"
SHIM = os.environ.get("FAULTSHIM")
LINUX = os.uname().sysname == "Linux"


def running(p, iid):
    return os.path.exists(os.path.join(p.bundle(iid), "running"))


@unittest.skipUnless(SHIM and os.path.exists(SHIM) and LINUX, "fault shim not built")
class DestroyDurability(harness.PluginTest):
    """A client that times out after 1 s retries its Destroy; 0.1.0 answered
    the retry OK at once, while the first one's record was still being
    written, so a kill -9 then brought the instance back."""
    start_plugin = False

    def test_retried_destroy_waits_for_the_flush(self):
        delay = os.path.join(self.base, "fsync-delay")
        with open(delay, "w") as f:
            f.write("0")
        env = {"LD_PRELOAD": SHIM, "FAULT_FSYNC_DELAY_FILE": delay,
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        p = self.new_plugin(env=env)
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        c = p.client()
        iid = c.provision({"VMX": "alpine"}, tags={G: "d"})["ID"]
        harness.wait_until(lambda: running(p, iid), what="running")
        c.close()
        with open(delay, "w") as f:
            f.write("1500")
        # The first Destroy times out on the client side...
        first = p.client(timeout=0.3)
        with self.assertRaises(OSError):
            first.destroy(iid)
        first.close()
        # ...and its retry must wait for the same flush: not OK at once.
        t0 = time.time()
        second = p.client(timeout=10)
        self.assertTrue(second.destroy(iid)["OK"])
        waited = time.time() - t0
        second.close()
        p.kill9()
        self.assertGreater(waited, 0.6, "the retry was answered before the record was durable")
        # What it promised holds after a kill -9.
        p2 = self.new_plugin(vm_dir=p.vm_dir)
        p2.start()
        c2 = p2.client()
        self.assertNotIn(iid, c2.ids({G: "d"}), "a Destroy answered OK was undone")
        c2.close()


class LabelBounds(harness.PluginTest):
    """6 Labels of 250 tags of 4 kB made a 6 MB record that the next start
    quarantined (the VM kept running, unmanaged, and the group made a
    duplicate)."""

    def test_labels_are_capped_and_the_record_reloads(self):
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "l"})["ID"]
        refused = 0
        for i in range(6):
            labels = {"k%d-%d" % (i, j): "v" * 4000 for j in range(250)}
            try:
                self.c.label(iid, labels)
            except harness.RPCError as e:
                refused += 1
                self.assertIn("INSTANCE_MAX_TAG", e.message)
        self.assertGreater(refused, 0)
        self.c.close()
        self.p.stop()
        p2 = self.new_plugin(vm_dir=self.p.vm_dir)
        p2.start()
        self.c = p2.client()
        self.assertEqual(self.c.ids({G: "l"}), [iid])
        self.assertNotIn("QUARANTINED", p2.log())

    def test_describe_of_many_large_instances(self):
        ids = [self.c.provision({"VMX": "alpine"}, tags={G: "big"})["ID"] for _ in range(20)]
        for iid in ids:
            self.c.label(iid, {"k%d" % j: "v" * 1000 for j in range(60)})
        d = self.c.describe({G: "big"}, props=True)
        self.assertEqual(sorted(x["ID"] for x in d), sorted(ids))


def journal_entry(epoch, seq, key, data):
    fields = b"%d %d %d %s" % (epoch, seq, len(data), key)
    crc = zlib.crc32(data, zlib.crc32(fields)) & 0xffffffff
    return b"IKE2 %d %d %d %08x %s\n%s\n" % (epoch, seq, len(data), crc, key, data)


def journal_header(epoch, start=1024):
    f = b"%d %d" % (epoch, start)
    slot = b"IKJH2 %s %08x\n" % (f, zlib.crc32(f) & 0xffffffff)
    return slot.ljust(512, b"\0")


class JournalDamage(harness.PluginTest):
    """0.1.0 treated one bad entry as a torn tail: every later entry (5 of 5
    acknowledged instances in the review) was dropped without a log line."""
    start_plugin = False

    def test_damage_in_the_middle_keeps_the_rest(self):
        p = self.new_plugin()
        harness.make_template(p.vm_lib, "alpine")
        os.makedirs(p.vm_dir, exist_ok=True)
        tmpl = os.path.join(p.vm_lib, "alpine.vmwarevm", "alpine.vmx")
        ids = ["i-6h40000%04d" % i for i in range(5)]
        body = b""
        for n, iid in enumerate(ids, 1):
            rec = {"Version": 2, "ID": iid, "Seq": 1, "Backend": "test", "State": "provisioning",
                   "Spec": {"Properties": {"VMX": "alpine"}, "Tags": {G: "j"}, "Init": "",
                            "LogicalID": None, "Attachments": None},
                   "Tags": {G: "j"}, "Template": tmpl, "CreatedAt": 0, "UpdatedAt": 0}
            body += journal_entry(1, n, iid.encode() + b",1,R", json.dumps(rec).encode())
        with open(os.path.join(p.vm_dir, ".journal"), "wb") as f:
            f.write(journal_header(1).ljust(512, b"\0") + b"\0" * 512)
            f.write(body)
        # Damage the second entry's data.
        with open(os.path.join(p.vm_dir, ".journal"), "r+b") as f:
            data = f.read()
            at = data.index(ids[1].encode(), data.index(b"IKE2 1 2 ") + 40)
            f.seek(at)
            f.write(b"X")
        p.start()
        self.c = p.client()
        live = set(self.c.ids({G: "j"}))
        self.assertEqual(live, set(ids) - {ids[1]})
        self.assertIn("damaged data at offset", p.log())
        # The instance whose entry was lost has no record: its directory,
        # if any, is kept (never deleted on a guess).
        self.assertIn("1 damaged region", p.log())


@unittest.skipUnless(LINUX, "Linux resource limits")
class Flood(harness.PluginTest):
    """At the common soft limit of 1,024, 887 idle connections made
    Provision fail with EMFILE, and 1,023 connections trickling a byte every
    10 s kept new clients out indefinitely."""
    start_plugin = False

    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 8192)
        if want < 4200:
            self.skipTest("needs a descriptor limit of 4200 for the test itself")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    def test_2000_idle_and_trickling_connections(self):
        p = self.new_plugin(args=["--max-parallel", "4"])
        p.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        socks = []
        stop = threading.Event()
        for i in range(2000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            # A flood that insists: a full backlog is tried again for a
            # while (0.1.0 stopped accepting once out of descriptors).
            for _ in range(200):
                try:
                    s.connect(p.socket)
                    break
                except BlockingIOError:
                    time.sleep(0.005)
            else:
                s.close()
                continue
            if i % 2:
                try:
                    s.send(b"POST / HTTP/1.1\r\nHost: h\r\n")
                except OSError:
                    pass
            socks.append(s)

        def trickle():
            while not stop.is_set():
                for s in socks[1::2]:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
                stop.wait(0.5)
        self.assertGreater(len(socks), 1900, "the plugin stopped accepting connections")
        t = threading.Thread(target=trickle)
        t.start()
        try:
            t0 = time.time()
            c = p.client(timeout=5)
            c.call("Handshake.Implements")
            served = time.time() - t0
            self.assertLess(served, 1.0, "a well-behaved client waited %.2f s" % served)
            # Background work still has descriptors.
            iid = c.provision({"VMX": "alpine"}, tags={G: "f"})["ID"]
            harness.wait_until(lambda: running(p, iid), what="provisioned under the flood")
            c.close()
        finally:
            stop.set()
            t.join()
            for s in socks:
                s.close()
        self.assertNotIn("Too many open files", p.log())
        self.assertNotIn("EMFILE", p.log())


class BrowserRequests(harness.PluginTest):
    """No Content-Type was required and neither Host nor Origin checked, so
    a no-cors fetch from a web page (or DNS rebinding) drove the TCP
    listener."""
    start_plugin = False

    def raw(self, port, headers, body=b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":7}'):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = b"POST / HTTP/1.1\r\n" + b"".join(h + b"\r\n" for h in headers)
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return data

    def test_tcp_refuses_what_a_browser_sends(self):
        p = self.new_plugin(args=["--listen", "tcp://127.0.0.1:0"])
        p.start()
        with open(os.path.join(p.plugins, p.name + ".listen")) as f:
            port = int(f.read().rsplit(":", 1)[1])
        ok = self.raw(port, [b"Host: 127.0.0.1:%d" % port, b"Content-Type: application/json"])
        self.assertIn(b'"id":7', ok)
        self.assertIn(b"200 OK", ok)
        for headers, needle in [
            ([b"Host: 127.0.0.1", b"Content-Type: text/plain"], b"Content-Type"),
            ([b"Host: 127.0.0.1"], b"Content-Type"),
            ([b"Host: 127.0.0.1", b"Content-Type: application/json",
              b"Origin: http://evil.example"], b"Origin"),
            ([b"Host: evil.example:%d" % port, b"Content-Type: application/json"], b"Host"),
        ]:
            ans = self.raw(port, headers)
            self.assertNotIn(b"200 OK", ans, headers)
            self.assertIn(needle, ans, headers)
        # The unix socket keeps gorilla's rules (InfraKit sends Host: h).
        c = p.client()
        c.call("Handshake.Implements")
        c.close()


class Symlinks(harness.PluginTest):
    """Links in --vm-dir were followed: a .staging link had its target
    emptied at start, .lock truncated an outside file, Destroy removed an
    outside instance.json through a linked instance directory."""
    start_plugin = False

    def outside(self, name):
        d = os.path.join(self.base, "outside-" + name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "precious"), "w") as f:
            f.write("keep me")
        return d

    def test_staging_link_is_refused(self):
        p = self.new_plugin()
        os.makedirs(p.vm_dir)
        out = self.outside("staging")
        os.symlink(out, os.path.join(p.vm_dir, ".staging"))
        rc = p.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn(".staging is a symbolic link", p.log())
        self.assertTrue(os.path.exists(os.path.join(out, "precious")))

    def test_lock_link_is_refused(self):
        p = self.new_plugin()
        os.makedirs(p.vm_dir)
        out = self.outside("lock")
        os.symlink(os.path.join(out, "precious"), os.path.join(p.vm_dir, ".lock"))
        rc = p.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        with open(os.path.join(out, "precious")) as f:
            self.assertEqual(f.read(), "keep me")

    def test_linked_instance_directories_are_left_alone(self):
        p = self.new_plugin()
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        c = p.client()
        real = c.provision({"VMX": "alpine"}, tags={G: "s"})["ID"]
        harness.wait_until(lambda: running(p, real), what="running")
        c.close()
        p.stop()
        # An outside directory that looks like an instance, linked in under
        # an ID, and an alias of the real one under another ID.
        out = self.outside("inst")
        fake = "i-6h4vvvvvv00"
        with open(os.path.join(p.vm_dir, real, "instance.json")) as f:
            rec = json.load(f)
        rec["ID"] = fake
        with open(os.path.join(out, "instance.json"), "w") as f:
            json.dump(rec, f)
        os.symlink(out, os.path.join(p.vm_dir, fake))
        alias = "i-6h4vvvvvv01"
        os.symlink(os.path.join(p.vm_dir, real), os.path.join(p.vm_dir, alias))
        p2 = self.new_plugin(vm_dir=p.vm_dir)
        p2.start()
        c = p2.client()
        self.assertEqual(c.ids({G: "s"}), [real])
        c.destroy(fake)
        c.destroy(alias)
        c.close()
        p2.stop()
        self.assertTrue(os.path.exists(os.path.join(out, "instance.json")))
        self.assertTrue(os.path.exists(os.path.join(out, "precious")))
        self.assertTrue(os.path.exists(os.path.join(p.vm_dir, real, "instance.json")))
        self.assertNotIn("QUARANTINED", p2.log())
        self.assertIn("not a plain directory", p2.log())


@unittest.skipUnless(os.geteuid() == 0 and LINUX, "needs root to mount a tmpfs")
class FullDiskRestart(harness.PluginTest):
    """On a full disk the daemon refused to start, with an empty error line."""
    start_plugin = False

    def setUp(self):
        super().setUp()
        self.mnt = os.path.join(self.base, "small")
        os.makedirs(self.mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", self.mnt], check=True)

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            subprocess.run(["umount", "-l", self.mnt], check=False)

    def test_starts_on_a_full_disk(self):
        p = self.new_plugin(vm_dir=os.path.join(self.mnt, "vms"))
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        c = p.client()
        iid = c.provision({"VMX": "alpine"}, tags={G: "fd"})["ID"]
        harness.wait_until(lambda: running(p, iid), what="running")
        c.close()
        p.stop()
        with open(os.path.join(self.mnt, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        p2 = self.new_plugin(vm_dir=p.vm_dir)
        p2.start()
        c = p2.client()
        self.assertEqual(c.ids({G: "fd"}), [iid])
        err = c.provision({"VMX": "alpine"}, tags={G: "fd"}, want_error=True)
        self.assertIn("No space left on device", err["message"])
        self.assertIn("free some space", err["message"])
        c.close()


class LongVmDir(harness.PluginTest):
    """A --vm-dir too long for the paths below it was accepted; answered
    Provisions were later dropped with "out of memory" in the log."""
    start_plugin = False

    def test_refused_at_start_with_the_limit(self):
        d = os.path.join(self.base, *(["x" * 200] * 11))
        p = self.new_plugin(vm_dir=d)
        rc = p.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("at most 2048", p.log())


class DestroyBehindCreates(harness.PluginTest):
    """With every worker stuck in a hung create, a Destroy waited the whole
    --op-timeout (30 min by default)."""
    plugin_args = ("--max-parallel", "2", "--op-timeout", "10m")

    def test_destroy_runs_beside_hung_creates(self):
        keep = self.c.provision({"VMX": "alpine"}, tags={G: "h"})["ID"]
        harness.wait_until(lambda: running(self.p, keep), what="running")
        self.p.ctl_set("hang", "create")
        hung = [self.c.provision({"VMX": "alpine"}, tags={G: "h"})["ID"] for _ in range(3)]
        harness.wait_until(lambda: sum(1 for l in self.p.ops_log()
                                       if l[0] == "create" and l[1] in hung) >= 2,
                           what="two creates hanging")
        t0 = time.time()
        self.c.destroy(keep)
        harness.wait_until(lambda: not os.path.exists(os.path.join(self.p.vm_dir, keep)),
                           timeout=20, what="destroyed beside hung creates")
        self.assertLess(time.time() - t0, 20)
        self.p.ctl_clear("hang", "create")
        for iid in hung:
            self.c.destroy(iid)


class IdDrift(harness.PluginTest):
    """0.1.0 resumed IDs from a mark reserved 60 s ahead: every restart
    moved new IDs and their CreatedAt a minute into the future."""

    def test_no_drift_across_restarts(self):
        self.c.close()
        self.p.stop()
        for _ in range(3):
            p = self.new_plugin(vm_dir=self.p.vm_dir)
            p.start()
            c = p.client()
            before = time.time()
            iid = c.provision({"VMX": "alpine"}, tags={G: "t"})["ID"]
            d = c.describe({G: "t"}, props=True)
            created = [x for x in d if x["ID"] == iid][0]["Properties"]["CreatedAt"]
            ts = time.mktime(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
            self.assertLess(abs(ts - before), 5, "CreatedAt %s drifted from now" % created)
            c.close()
            p.stop()
        self.c = None


if __name__ == "__main__":
    harness.main()
