#!/usr/bin/env python3
"""Crash safety: kill -9 the plugin at random moments while clients
provision and destroy, restart it, and check after every restart:
  - every instance whose Provision returned (and that no Destroy has been
    answered for) is reported again, exactly once;
  - no instance whose Destroy returned comes back;
  - once the work settles, no staging leftovers, no orphan directories, no
    bundle without a record, no running record without its bundle.
Seeded and reproducible: CRASH_SEED (default 20261128), CRASH_ITERATIONS
(default 50)."""

import os
import random
import re
import threading
import time
import unittest

import harness

G = "infrakit.group"
ID_RE = re.compile(r"^i-[0-9a-v]{11}$")


class Crash(harness.PluginTest):
    start_plugin = False

    def start(self):
        p = self.new_plugin(poll="100ms", args=["--max-parallel", "4"])
        p.start()
        return p

    def check_disk(self, p, live):
        vm = p.vm_dir
        self.assertEqual(os.listdir(os.path.join(vm, ".staging")), [], "staging leftovers")
        for name in os.listdir(vm):
            if not ID_RE.match(name):
                continue
            d = os.path.join(vm, name)
            self.assertTrue(os.path.exists(os.path.join(d, "instance.json")),
                            "orphan directory %s: %s" % (name, os.listdir(d)))
        for iid in live:
            self.assertTrue(os.path.isdir(p.bundle(iid)), "running %s has no bundle" % iid)

    def test_kill9_at_random_moments(self):
        seed = int(os.environ.get("CRASH_SEED", "20261128"))
        iterations = int(os.environ.get("CRASH_ITERATIONS", "50"))
        rnd = random.Random(seed)
        os.makedirs(os.path.join(self.base, "lib"), exist_ok=True)
        harness.make_template(os.path.join(self.base, "lib"), "alpine")
        alive = set()       # Provision answered, no Destroy sent
        destroyed = set()   # Destroy answered
        uncertain = set()   # Destroy sent, cut off by the kill: either way
        lock = threading.Lock()
        for it in range(iterations):
            p = self.start()
            # Random backend latencies make the kill land in every step.
            for op in ("create", "start", "softstop", "stop"):
                p.ctl_set("delay", op, rnd.randint(0, 150))
            c = p.client()
            # After the restart: the invariants.
            reported = c.ids({G: "crash"})
            self.assertEqual(len(reported), len(set(reported)), "reported twice")
            missing = alive - set(reported)
            self.assertEqual(missing, set(), "iteration %d (seed %d): lost %s" %
                             (it, seed, sorted(missing)))
            back = destroyed & set(d["ID"] for d in c.describe())
            self.assertEqual(back, set(), "destroyed instances came back: %s" % sorted(back))
            for d in c.describe(all_=True):
                if d["ID"] in destroyed:
                    self.assertEqual(d["Properties"]["State"], "destroying", d)
            c.close()

            stop = threading.Event()
            wseeds = [rnd.randint(0, 1 << 30) for _ in range(4)]

            def worker(ws):
                wr = random.Random(ws)
                cl = p.client(timeout=5)
                try:
                    while not stop.is_set():
                        with lock:
                            victims = sorted(alive)
                        # Keep the population bounded (~60): 50 cycles
                        # must still settle quickly under ASan.
                        p_destroy = 0.45 if len(victims) < 60 else 0.9
                        if victims and wr.random() < p_destroy:
                            iid = wr.choice(victims)
                            with lock:
                                alive.discard(iid)
                                uncertain.add(iid)
                            cl.destroy(iid)
                            with lock:
                                uncertain.discard(iid)
                                destroyed.add(iid)
                        else:
                            iid = cl.provision({"VMX": "alpine"}, tags={G: "crash"})["ID"]
                            with lock:
                                alive.add(iid)
                except Exception:  # noqa: BLE001 - the kill cuts requests off
                    pass
                finally:
                    cl.close()

            threads = [threading.Thread(target=worker, args=(ws,)) for ws in wseeds]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(0.05, 0.8))
            p.kill9()
            stop.set()
            for t in threads:
                t.join()

        # Final restart: let the work settle and check the disk.
        p = self.start()
        c = p.client()
        self.assertEqual(alive - set(c.ids({G: "crash"})), set())
        # A Destroy the kill cut off is finished or never happened.
        for iid in uncertain:
            c.destroy(iid)
            destroyed.add(iid)

        def settled():
            return all(d["Properties"]["State"] in ("running", "failed")
                       for d in c.describe(all_=True))
        harness.wait_until(settled, timeout=180, interval=0.5, what="work settled")
        live = c.ids({G: "crash"})
        self.assertEqual(alive - set(live), set())
        self.assertEqual(destroyed & set(live), set())
        # Beyond those: only Provisions the kill cut off after their record
        # was written (at most one per client per kill).
        self.assertLessEqual(len(set(live) - alive), 4 * iterations)
        self.check_disk(p, live)
        for iid in destroyed:
            self.assertFalse(os.path.exists(os.path.join(p.vm_dir, iid)),
                             "destroyed %s still on disk" % iid)
        print("%d kill -9 cycles (seed %d): %d instances alive, %d destroyed, all accounted for"
              % (iterations, seed, len(alive), len(destroyed)))
        c.close()




SHIM = os.environ.get("FAULTSHIM")


@unittest.skipUnless(SHIM and os.path.exists(SHIM) and os.uname().sysname == "Linux",
                     "fault shim not built")
class RetriedDestroys(harness.PluginTest):
    """Clients that time out and retry their Destroy at once (InfraKit's do),
    flushes made slow by a shim, kill -9 at random moments: a Destroy that
    was answered OK is never undone (0.1.0 answered the retry before the
    first one's record was durable)."""
    start_plugin = False

    def test_kill9_with_retried_destroys(self):
        seed = int(os.environ.get("CRASH_SEED", "20261201"))
        iterations = int(os.environ.get("CRASH_ITERATIONS", "50"))
        rnd = random.Random(seed)
        lib = os.path.join(self.base, "lib")
        os.makedirs(lib, exist_ok=True)
        harness.make_template(lib, "alpine")
        delay = os.path.join(self.base, "fsync-delay")
        env = {"LD_PRELOAD": SHIM, "FAULT_FSYNC_DELAY_FILE": delay,
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        alive, destroyed = set(), set()
        lock = threading.Lock()
        for it in range(iterations):
            with open(delay, "w") as f:
                f.write("0")
            p = self.new_plugin(poll="100ms", env=env)
            p.start()
            c = p.client()
            back = destroyed & set(c.ids({G: "retry"}))
            self.assertEqual(back, set(), "iteration %d (seed %d): Destroys answered OK were "
                             "undone: %s" % (it, seed, sorted(back)))
            missing = alive - set(c.ids({G: "retry"}))
            self.assertEqual(missing, set(), "iteration %d: lost %s" % (it, sorted(missing)))
            for _ in range(3):
                alive.add(c.provision({"VMX": "alpine"}, tags={G: "retry"})["ID"])
            c.close()
            with open(delay, "w") as f:
                f.write(str(rnd.randint(20, 300)))
            stop = threading.Event()

            def worker(ws):
                wr = random.Random(ws)
                while not stop.is_set():
                    with lock:
                        victims = sorted(alive)
                    if not victims:
                        return
                    iid = wr.choice(victims)
                    with lock:
                        alive.discard(iid)
                    try:
                        first = p.client(timeout=wr.uniform(0.01, 0.15))
                        try:
                            first.destroy(iid)
                        except OSError:
                            pass  # timed out: retried at once below
                        first.close()
                        again = p.client(timeout=10)
                        again.destroy(iid)
                        again.close()
                    except Exception:  # noqa: BLE001 - the kill cuts it off
                        return  # not known either way: neither set
                    with lock:
                        destroyed.add(iid)

            threads = [threading.Thread(target=worker, args=(rnd.randint(0, 1 << 30),))
                       for _ in range(3)]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(0.05, 0.6))
            p.kill9()
            stop.set()
            for t in threads:
                t.join()
        p = self.new_plugin(poll="100ms")
        p.start()
        c = p.client()
        self.assertEqual(destroyed & set(c.ids({G: "retry"})), set())
        c.close()
        print("%d kill -9 cycles with retried Destroys (seed %d): %d destroyed, none undone"
              % (iterations, seed, len(destroyed)))


if __name__ == "__main__":
    harness.main()
