#!/usr/bin/env python3
"""Load: 64 concurrent clients for LOAD_SECONDS (default 60) of mixed
Describe / Provision / Destroy / Label against the VMware backend and the
fake vmrun. Zero failed RPCs; the plugin's RSS is flat after warm-up (not
checked with LOAD_RSS_CHECK=0: under ASan, LeakSanitizer checks at exit);
no zombie processes; per-method p50/p99 printed."""

import os
import random
import threading
import time
import unittest

import harness

G = "infrakit.group"
FAKE = os.path.join(harness.TESTS_DIR, "fakes", "fake-vmrun")
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
CLIENTS = 64


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def zombies_of(pid):
    z = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if rest[0] == "Z" and int(rest[1]) == pid:
            z.append(int(d))
    return z


@unittest.skipUnless(os.path.exists("/proc/self/status"), "needs /proc")
class Load(harness.PluginTest):
    start_plugin = False

    def test_mixed_load(self):
        state = os.path.join(self.base, "fake-state")
        os.makedirs(state)
        p = self.new_plugin(binary=harness.PLUGIN_BIN, backend="vmware",
                            args=["--vmrun", FAKE, "--clone", "copy", "--max-parallel", "8",
                                  "--stop-timeout", "2s"],
                            env={"FAKE_VMRUN_STATE": state, "FAKE_VMRUN_CTL": self.base},
                            poll="500ms")
        harness.make_template(p.vm_lib, "alpine")
        p.start()
        pid = p.proc.pid
        stop = threading.Event()
        lock = threading.Lock()
        lat = {"describe": [], "provision": [], "destroy": [], "label": []}
        errors = []
        zombie_seen = []

        def client(n):
            rnd = random.Random(n)
            c = p.client(timeout=30)
            mine = []
            local = {k: [] for k in lat}
            try:
                while not stop.is_set():
                    r = rnd.random()
                    t0 = time.monotonic()
                    if r < 0.6:
                        kind = "describe"
                        c.describe({G: "load-%d" % (n % 8)}, props=rnd.random() < 0.5)
                    elif r < 0.75 and len(mine) < 3:
                        kind = "provision"
                        mine.append(c.provision({"VMX": "alpine"},
                                                tags={G: "load-%d" % (n % 8)})["ID"])
                    elif r < 0.9 and mine:
                        kind = "destroy"
                        c.destroy(mine.pop(rnd.randrange(len(mine))))
                    elif mine:
                        kind = "label"
                        c.label(rnd.choice(mine), {"touched": str(rnd.random())})
                    else:
                        continue
                    local[kind].append(time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append("client %d: %r" % (n, e))
            finally:
                c.close()
                with lock:
                    for k, v in local.items():
                        lat[k].extend(v)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        t_start = time.monotonic()
        for t in threads:
            t.start()
        samples = []
        while time.monotonic() - t_start < SECONDS:
            time.sleep(1)
            samples.append((time.monotonic() - t_start, rss_kb(pid)))
            zombie_seen.extend(zombies_of(pid))
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        total = sum(len(v) for v in lat.values())
        print("%d RPCs from %d clients in %.0f s:" % (total, CLIENTS, SECONDS))
        for k, v in sorted(lat.items()):
            print("  %-9s n=%-6d p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms" % (
                k, len(v), harness.percentile(v, 50) * 1000, harness.percentile(v, 99) * 1000,
                max(v) * 1000 if v else 0))
        for k, v in lat.items():
            self.assertTrue(v, "no %s was sent" % k)
            self.assertLess(max(v), harness.RPC_LIMIT, "%s took %.2f s" % (k, max(v)))
        # RSS after warm-up: the last third against the middle third.
        third = len(samples) // 3
        mid = [r for _, r in samples[third:2 * third]]
        last = [r for _, r in samples[2 * third:]]
        print("  RSS: %d KiB at 1 s, %d KiB mid-run avg, %d KiB final-third avg, peak %d KiB" % (
            samples[0][1], sum(mid) / len(mid), sum(last) / len(last), max(r for _, r in samples)))
        # Under ASan the allocator's quarantine grows the RSS by design;
        # LeakSanitizer checks for leaks at exit there instead.
        if os.environ.get("LOAD_RSS_CHECK", "1") != "0":
            self.assertLess(sum(last) / len(last), sum(mid) / len(mid) * 1.25 + 4096,
                            "RSS keeps growing: %s" % samples)
        # Let the background work settle; everything still recorded is
        # then running, and no child process was left unreaped.
        c = p.client()
        self.c = c
        harness.wait_until(lambda: all(d["Properties"]["State"] == "running"
                                       for d in c.describe(all_=True)),
                           timeout=300, interval=1, what="work settled")
        # A child is a zombie for an instant between its exit and the
        # waitpid (the ticker's vmrun list runs every 500 ms); one still
        # unreaped a second later was leaked.
        now = zombies_of(pid)
        time.sleep(1)
        self.assertEqual([z for z in now if z in zombies_of(pid)], [])
        leaked = [z for z in set(zombie_seen) if z in zombies_of(pid)]
        self.assertEqual(leaked, [], "zombies never reaped")
        print("  %d momentary zombies seen while sampling, all reaped" % len(set(zombie_seen)))
        for d in c.describe():
            c.destroy(d["ID"])
        harness.wait_until(lambda: c.describe(all_=True) == [], timeout=300, interval=1,
                           what="all destroyed")
        now = zombies_of(pid)
        time.sleep(1)
        self.assertEqual([z for z in now if z in zombies_of(pid)], [])


if __name__ == "__main__":
    harness.main()
