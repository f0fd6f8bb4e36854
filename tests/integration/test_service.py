#!/usr/bin/env python3
"""The service under a slow backend: 200 parallel Provisions get 200
distinct IDs in creation order and fast answers while every VM operation
takes seconds; a bounded worker pool does the slow work."""

import os
import threading
import time
import unittest

import harness

G = "infrakit.group"


class SlowBackend(harness.PluginTest):
    plugin_args = ("--max-parallel", "8")

    def test_200_parallel_provisions_with_slow_backend(self):
        self.p.ctl_set("delay", "create", 5000)
        results, errors = [], []
        lock = threading.Lock()
        start_gate = threading.Barrier(50)

        def worker(n):
            c = self.p.client()
            try:
                start_gate.wait()
                for k in range(4):
                    t0 = time.monotonic()
                    r = c.provision({"VMX": "alpine"}, tags={G: "big", "n": "%d-%d" % (n, k)})
                    t1 = time.monotonic()
                    with lock:
                        results.append((t0, t1, r["ID"]))
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        # While they run: Describe must stay fast too.
        describe_lat = []
        while any(t.is_alive() for t in threads):
            t0 = time.monotonic()
            self.c.describe({G: "big"})
            describe_lat.append(time.monotonic() - t0)
            time.sleep(0.01)
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        ids = [r[2] for r in results]
        self.assertEqual(len(ids), 200)
        self.assertEqual(len(set(ids)), 200)
        # Creation order: an RPC that returned before another started has
        # the smaller ID.
        by_start = sorted(results)
        for a in results:
            for b in by_start:
                if a[1] < b[0]:
                    self.assertLess(a[2], b[2])
        lat = [r[1] - r[0] for r in results]
        print("200 Provision RPCs with 5 s backend operations: p50 %.1f ms, p99 %.1f ms, "
              "max %.1f ms; Describe during them p99 %.1f ms" % (
                  harness.percentile(lat, 50) * 1000, harness.percentile(lat, 99) * 1000,
                  max(lat) * 1000, harness.percentile(describe_lat, 99) * 1000))
        self.assertLess(max(lat), harness.RPC_LIMIT)
        # All reported at once, as provisioning.
        ds = self.c.describe({G: "big"}, props=True)
        self.assertEqual(sorted(d["ID"] for d in ds), sorted(ids))
        states = [d["Properties"]["State"] for d in ds]
        self.assertGreater(states.count("provisioning"), 150)
        # The pool bounds the slow work: 8 at a time.
        creates = [l for l in self.p.ops_log() if l[0] == "create"]
        self.assertLessEqual(len(creates), 8 + 8)

    def test_destroy_while_provisioning(self):
        self.p.ctl_set("delay", "create", 1500)
        iid = self.c.provision({"VMX": "alpine"}, tags={G: "d"})["ID"]
        time.sleep(0.3)  # the worker is inside create
        self.c.destroy(iid)
        self.assertEqual(self.c.ids({G: "d"}), [])
        harness.wait_until(lambda: not os.path.exists(os.path.join(self.p.vm_dir, iid)),
                           timeout=20, what="destroyed after the create finished")
        ops = [l for l in self.p.ops_log() if l[1] == iid]
        self.assertEqual(ops[0][0], "create")
        self.assertNotIn(["start", iid], ops)  # never booted
        self.assertEqual(os.listdir(os.path.join(self.p.vm_dir, ".staging")), [])


if __name__ == "__main__":
    harness.main()
