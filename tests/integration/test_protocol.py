#!/usr/bin/env python3
"""Protocol conformance: replays every request real InfraKit clients sent
(tests/data/vectors/infrakit-rpc.jsonl, byte for byte) and every raw HTTP
request file, and checks each answer's shape against what that client
version requires. Handshakes are compared exactly; ids must be echoed as the
exact digits received. Also the GET endpoints and a curl handshake.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import unittest

import harness

# Our byte-exact copy; the shared specification's when ours is missing.
VECTORS = os.path.join(harness.TESTS_DIR, "data", "vectors")
if not os.path.exists(os.path.join(VECTORS, "infrakit-rpc.jsonl")):
    VECTORS = os.path.join(harness.SHARED_DIR, "vectors")
JSONL = os.path.join(VECTORS, "infrakit-rpc.jsonl")
VERSIONS = ["0.1.0", "0.3.0", "0.5.0", "0.6.0", "0.6.1"]

# Which Instance version each client demands in its handshake (spec §1).
DEMANDS = {"v0.1.0": "0.1.0", "v0.2.0": "0.1.0", "v0.4.1": "0.3.0", "v0.5": "0.5.0",
           "master": "0.6.1"}


def vector_lines():
    """(record, exact request body bytes) for each line of the jsonl."""
    out = []
    with open(JSONL, "rb") as f:
        for raw in f.read().splitlines():
            if not raw.strip():
                continue
            rec = json.loads(raw)
            start = raw.index(b'"request":') + len(b'"request":')
            end = raw.index(b',"response_example":')
            out.append((rec, raw[start:end]))
    return out


def raw_id(body):
    """The id's exact digits from a request body (never via a double)."""
    m = re.search(rb'"id":(\d+)\}$', body)
    return m.group(1).decode() if m else None


# The built-in group controller's interface, served on the same socket.
GROUP_VERSIONS = ["0.1.0", "0.1.1"]


def superset(served):
    names = ["."] + served
    types = {"Instance/" + v: names for v in VERSIONS}
    types.update({"Group/" + v: ["."] for v in GROUP_VERSIONS})
    objects = {"Instance/" + v: [{"Name": n, "ProxyFor": ""} for n in names]
               for v in VERSIONS}
    objects.update({"Group/" + v: [{"Name": ".", "ProxyFor": ""}] for v in GROUP_VERSIONS})
    return {
        "implements": {"APIs": [{"Name": "Instance", "Version": v} for v in VERSIONS] +
                       [{"Name": "Group", "Version": v} for v in GROUP_VERSIONS]},
        "types": {"Types": types},
        "hello": {"Objects": objects},
    }


def disk_held(spec, held):
    """The first disk attachment of spec that held names, or None."""
    for a in spec.get("Attachments") or []:
        if a.get("Type") in ("disk", "vmdk") and a["ID"].lower() in held:
            return a["ID"].lower()
    return None


@unittest.skipUnless(os.path.exists(JSONL), "shared vectors not present")
class ReplayVectors(harness.PluginTest):

    def served(self):
        return list(self.c.call("Handshake.Types")["Types"]["Instance/0.6.1"][1:])

    def check_description(self, d, props):
        self.assertIsInstance(d["ID"], str)
        self.assertTrue(d["ID"])
        self.assertIn("LogicalID", d)
        self.assertTrue(d["LogicalID"] is None or isinstance(d["LogicalID"], str))
        self.assertIsInstance(d["Tags"], dict)
        for k, v in d["Tags"].items():
            self.assertIsInstance(v, str, "tag %s must be a string" % k)
        if props:
            self.assertIsInstance(d["Properties"], dict)
            self.assertIn("State", d["Properties"])
        else:
            self.assertNotIn("Properties", d)

    def test_replay_jsonl(self):
        want = superset(self.served())
        lines = vector_lines()
        self.assertEqual(len(lines), 49)
        provisioned = []
        held = {}  # disk attachment ID -> the instance provisioned with it
        for rec, body in lines:
            client, method = rec["client"], rec["method"]
            with self.subTest(client=client, method=method, note=rec["note"][:60]):
                rid = raw_id(body)
                self.assertIsNotNone(rid)
                status, headers, text = self.c.post_raw(body)
                self.assertEqual(status, 200)
                self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
                self.assertTrue(text.endswith("}\n"), text)
                # The id, exactly as sent (19 digits survive).
                self.assertTrue(text.rstrip("\n").endswith('"id":%s}' % rid), text)
                ans = json.loads(text)
                self.assertEqual(ans["jsonrpc"], "2.0")
                req = json.loads(body)
                params = req["params"]
                typ = params.get("Type", "")
                if typ == "compute":
                    # A typed object we do not serve: a clear error.
                    self.assertIn("error", ans)
                    self.assertEqual(ans["error"]["code"], -32000)
                    self.assertIn("no-plugin:compute", ans["error"]["message"])
                    continue
                if method == "Plugin.Implements" or method == "Handshake.Implements":
                    self.assertEqual(ans["result"], want["implements"])
                    self.assertIn({"Name": "Instance", "Version": DEMANDS[client]},
                                  ans["result"]["APIs"])
                elif method == "Handshake.Types":
                    self.assertEqual(ans["result"], want["types"])
                elif method == "Handshake.Hello":
                    self.assertEqual(ans["result"], want["hello"])
                    self.assertIn({"Name": ".", "ProxyFor": ""},
                                  ans["result"]["Objects"]["Instance/0.6.1"])
                elif method == "Instance.Validate":
                    self.assertEqual(ans["result"], {"Type": typ, "OK": True})
                elif method == "Instance.Provision" and disk_held(params["Spec"], held):
                    # Two pets of one group with the flavor's disk-1: the
                    # disk is one VM's at a time (README, "Persistent
                    # disks for pets"), so the second is refused.
                    self.assertIn("error", ans)
                    for part in held[disk_held(params["Spec"], held)], "one VM at a time":
                        self.assertIn(part, ans["error"]["message"])
                elif method == "Instance.Provision":
                    r = ans["result"]
                    self.assertEqual(r["Type"], typ)
                    self.assertIsInstance(r["ID"], str)
                    self.assertTrue(r["ID"])
                    provisioned.append((r["ID"], params["Spec"]))
                    for a in params["Spec"].get("Attachments") or []:
                        if a.get("Type") in ("disk", "vmdk"):
                            held[a["ID"].lower()] = r["ID"]
                elif method == "Instance.DescribeInstances":
                    r = ans["result"]
                    self.assertEqual(r["Type"], typ)
                    self.assertIsInstance(r["Descriptions"], list)
                    for d in r["Descriptions"]:
                        self.check_description(d, params.get("Properties") is True)
                        for k, v in (params.get("Tags") or {}).items():
                            self.assertEqual(d["Tags"].get(k), v)
                elif method == "Instance.Destroy":
                    # Unknown IDs (the reference plugin's) are already gone.
                    self.assertEqual(ans["result"], {"Type": typ, "OK": True})
                elif method == "Instance.Label":
                    # The reference plugin's instance is unknown here.
                    self.assertIn("error", ans)
                    self.assertIn("no instance", ans["error"]["message"])
                else:
                    self.fail("unexpected method " + method)
        # What was provisioned is reported with every tag and LogicalID.
        descs = {d["ID"]: d for d in self.c.describe()}
        for iid, spec in provisioned:
            self.assertIn(iid, descs)
            for k, v in spec["Tags"].items():
                self.assertEqual(descs[iid]["Tags"][k], v)
            self.assertEqual(descs[iid]["LogicalID"], spec.get("LogicalID"))

    def test_bootstrap_label_flow(self):
        """v0.4.1's adoption: provision with config_sha=bootstrap, then the
        group labels it with the real hash (the vector's IDs replaced by
        ours)."""
        lines = [(r, b) for r, b in vector_lines() if r["client"] == "v0.4.1"]
        prov = [b for r, b in lines if r["method"] == "Instance.Provision" and b"bootstrap" in b][0]
        status, _, text = self.c.post_raw(prov)
        iid = json.loads(text)["result"]["ID"]
        label = [b for r, b in lines if r["method"] == "Instance.Label"][0]
        label = label.replace(b"instance-3672070393365184447", iid.encode())
        status, _, text = self.c.post_raw(label)
        self.assertEqual(json.loads(text)["result"], {"Type": "", "OK": True})
        d = [d for d in self.c.describe({"infrakit.group": "cattle"}) if d["ID"] == iid][0]
        self.assertEqual(d["Tags"]["infrakit.config_sha"], "ujv8_D5MIXv4pcLIL7qH1eHDC-s=")


class RawHTTP(harness.PluginTest):
    FILES = ["http-request-v0.1.0.txt", "http-request-v0.4.1.txt",
             "http-request-v0.5.txt", "http-request-master.txt"]

    def read_response(self, sock, buf=b""):
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            self.assertTrue(chunk, "connection closed before the response head")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        self.assertIsNotNone(m, head)
        n = int(m.group(1))
        while len(rest) < n:
            chunk = sock.recv(65536)
            self.assertTrue(chunk)
            rest += chunk
        return head, rest[:n], rest[n:]

    @unittest.skipUnless(os.path.isdir(VECTORS), "shared vectors not present")
    def test_each_file_byte_for_byte(self):
        for name in self.FILES:
            with self.subTest(file=name):
                with open(os.path.join(VECTORS, name), "rb") as f:
                    data = f.read()
                rid = raw_id(data.split(b"\r\n\r\n", 1)[1])
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(10)
                s.connect(self.p.socket)
                s.sendall(data)
                head, body, _ = self.read_response(s)
                s.close()
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
                self.assertTrue(body.rstrip(b"\n").endswith(b'"id":' + rid.encode() + b"}"), body)
                self.assertIn(b'"result"', body)

    @unittest.skipUnless(os.path.isdir(VECTORS), "shared vectors not present")
    def test_all_files_on_one_kept_alive_connection(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.p.socket)
        rest = b""
        for rounds in range(3):
            for name in self.FILES:
                with open(os.path.join(VECTORS, name), "rb") as f:
                    data = f.read()
                rid = raw_id(data.split(b"\r\n\r\n", 1)[1])
                s.sendall(data)
                head, body, rest = self.read_response(s, rest)
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
                self.assertIn(b'"id":' + rid.encode(), body)
        s.close()

    def test_pipelined_requests(self):
        """Several requests written at once; answered in order."""
        bodies = [json.dumps({"jsonrpc": "2.0", "method": "Handshake.Implements",
                              "params": {}, "id": 7000000000000000000 + i}) for i in range(5)]
        data = b"".join(("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                         "Content-Length: %d\r\n\r\n%s" % (len(b), b)).encode() for b in bodies)
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.p.socket)
        s.sendall(data)
        rest = b""
        for i in range(5):
            head, body, rest = self.read_response(s, rest)
            self.assertIn(b'"id":%d' % (7000000000000000000 + i), body)
        s.close()


class InfoEndpoints(harness.PluginTest):

    def test_api_json(self):
        status, text = self.c.get("/info/api.json")
        self.assertEqual(status, 200)
        doc = json.loads(text)
        self.assertEqual(doc["Vendor"]["Name"], "infrakit-instance-vmware-fusion")
        self.assertIn({"Name": "Instance", "Version": "0.5.0"}, doc["Implements"])
        methods = [m["Request"]["method"] for m in doc["Interfaces"][0]["Methods"]]
        self.assertIn("Instance.Provision", methods)

    def test_functions_json(self):
        status, text = self.c.get("/info/functions.json")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(text), {})

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_handshake(self):
        out = subprocess.run(
            ["curl", "-s", "--unix-socket", self.p.socket, "-H", "Content-Type: application/json",
             "-d", '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":4520439888935662180}',
             "http://h/"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        ans = json.loads(out.stdout)
        self.assertIn("Instance/0.6.1", ans["result"]["Objects"])
        self.assertTrue(out.stdout.rstrip().endswith('"id":4520439888935662180}'))


if __name__ == "__main__":
    harness.main()
