#!/usr/bin/env python3
"""Bad input over the real socket: each case gets a precise error (or, where
no answer is possible, the daemon simply carries on), and the daemon stays up
and keeps answering good requests after every case."""

import json
import os
import socket
import time
import unittest

import harness

HELLO = b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}'


def http_post(body, ctype=b"application/json", extra=b""):
    head = b"POST / HTTP/1.1\r\nHost: h\r\n"
    if ctype is not None:
        head += b"Content-Type: " + ctype + b"\r\n"
    return head + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body


def rpc(method, params, rid=5):
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params,
                       "id": rid}).encode()


class BadInput(harness.PluginTest):

    def exchange(self, data, shut=False, timeout=10):
        """Writes data on a fresh connection; returns (status, body) or None
        when the server closed without answering."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(self.p.socket)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if shut:
            s.shutdown(socket.SHUT_WR)
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    if len(rest) >= n:
                        break
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        if not buf:
            return None
        head, body = buf.split(b"\r\n\r\n", 1)
        return int(head.split(b" ")[1]), body.decode("utf-8", "replace")

    def assert_alive(self):
        c = self.p.client(timeout=5)
        t0 = time.time()
        r = c.call("Handshake.Hello")
        c.close()
        self.assertIn("Instance/0.6.1", r["Objects"])
        self.assertIsNone(self.p.proc.poll())
        return time.time() - t0

    def assert_error(self, data, status, needle, code=None):
        got = self.exchange(data)
        self.assertIsNotNone(got, "no answer")
        st, body = got
        self.assertEqual(st, status, body)
        ans = json.loads(body)
        if needle.startswith("^"):  # the message starts with it
            self.assertEqual(ans["error"]["message"][:len(needle) - 1], needle[1:])
        else:
            self.assertIn(needle, ans["error"]["message"])
        if code is not None:
            self.assertEqual(ans["error"]["code"], code)
        self.assert_alive()
        return ans

    def test_table(self):
        deep = b'{"jsonrpc":"2.0","method":"x","id":1,"p":' + b"[" * 100000 + b"]" * 100000 + b"}"
        cases = [
            ("malformed JSON", http_post(b'{"jsonrpc":"2.0",'), 200, "parse error", -32700),
            ("not an object", http_post(b"[1,2,3]"), 200, "must be a JSON-RPC 2.0 request object",
             -32600),
            ("empty body", http_post(b""), 200, "empty", -32700),
            ("truncated JSON body", http_post(HELLO[:30]), 200, "parse error", -32700),
            ("wrong Content-Type", http_post(HELLO, b"text/plain"), 415,
             "unrecognized Content-Type: text/plain", None),
            ("unknown method", http_post(rpc("Instance.Nope", {})), 200,
             'can\'t find method "Instance.Nope"', -32000),
            ("jsonrpc 1.0", http_post(b'{"jsonrpc":"1.0","method":"Handshake.Hello","id":1}'),
             200, "jsonrpc must be 2.0", -32600),
            ("number tag value", http_post(rpc("Instance.DescribeInstances",
                                               {"Tags": {"infrakit.group": 3}})), 200,
             '^Tags["infrakit.group"] must be a string', -32600),
            ("Tags as an array", http_post(rpc("Instance.DescribeInstances", {"Tags": ["a"]})),
             200, "^Tags must be an object", -32600),
            ("numeric instance ID", http_post(rpc("Instance.Destroy", {"Instance": 42})), 200,
             "^Instance must be a string", -32600),
            ("numeric label value", http_post(rpc("Instance.Label",
                                                  {"Instance": "i-1", "Labels": {"a": 1}})),
             200, '^Labels["a"] must be a string', -32600),
            ("spec tags wrong", http_post(rpc("Instance.Provision",
                                              {"Spec": {"Properties": {"VMX": "alpine"},
                                                        "Tags": {"t": True}}})),
             200, '^Spec.Tags["t"] must be a string', -32600),
            ("nested 100000 deep", http_post(deep), 200, "depth", -32700),
            ("invalid UTF-8", http_post(b'{"jsonrpc":"2.0","method":"Handshake.Hello",'
                                        b'"id":1,"x":"\xc3\x28"}'), 200, "parse error", -32700),
            ("unknown property", http_post(rpc("Instance.Validate",
                                               {"Properties": {"VMX": "alpine",
                                                               "MemorySizeMB": 1024}})),
             200, 'did you mean "MemorySizeMBs"', -32000),
            ("path trick in VMX", http_post(rpc("Instance.Validate",
                                                {"Properties": {"VMX": "../../etc/passwd"}})),
             200, "not a path", -32000),
            # Issue 13: a type error shows what came, not just its type.
            ("fractional memory", http_post(rpc("Instance.Validate",
                                                {"Properties": {"VMX": "alpine",
                                                                "MemorySizeMBs": 512.5}})),
             200, "^Properties.MemorySizeMBs must be a whole number between 32 and 1048576, "
             "got 512.5 (a fractional number)", -32000),
            ("quoted CPU count", http_post(rpc("Instance.Validate",
                                               {"Properties": {"VMX": "alpine",
                                                               "NumCPUs": "2"}})),
             200, '^Properties.NumCPUs must be a whole number between 1 and 128, got "2" '
             '(a string); write 2 without quotes', -32000),
            ("boolean as a string", http_post(rpc("Instance.DescribeInstances",
                                                  {"Properties": "yes"})),
             200, '^Properties must be true or false, got "yes" (a string)', -32600),
            # The service's own checks, named where the value is in params.
            ("no such template", http_post(rpc("Instance.Provision",
                                               {"Spec": {"Properties": {"VMX": "nosuch"}}})),
             200, '^Spec.Properties.VMX: template "nosuch" not found', -32000),
            ("no such template (Validate)",
             http_post(rpc("Instance.Validate", {"Properties": {"VMX": "nosuch"}})),
             200, '^Properties.VMX: template "nosuch" not found', -32000),
            # Issue 13: names match ignoring case, so one spelt twice is refused.
            ("one property twice", http_post(rpc("Instance.Validate",
                                                 {"Properties": {"VMX": "alpine",
                                                                 "memorySizeMBs": 512,
                                                                 "MemorySizeMBs": 1024}})),
             200, '^Properties has both "memorySizeMBs" and "MemorySizeMBs" (keys '
             'match ignoring case): keep one', -32000),
            ("one Spec member twice", http_post(rpc("Instance.Provision",
                                                    {"Spec": {"Properties": {"VMX": "alpine"},
                                                              "Tags": {}, "tags": {}}})),
             200, '^Spec has both "Tags" and "tags"', -32600),
            ("one param twice", http_post(rpc("Instance.Destroy",
                                              {"Instance": "i-1", "instance": "i-2"})),
             200, '^params has both "Instance" and "instance"', -32600),
        ]
        for name, data, status, needle, code in cases:
            with self.subTest(case=name):
                self.assert_error(data, status, needle, code)

    def test_names_ignore_case(self):
        """Property names match as Go's encoding/json matches them, ignoring
        case: a spec written for the Go plugin in any case still works."""
        ok = self.c.validate({"vmx": "alpine", "memorysizembs": 1024, "NUMCPUS": 2})
        self.assertTrue(ok["OK"])
        iid = self.c.call("Instance.Provision",
                          {"spec": {"properties": {"Vmx": "alpine", "numCPUs": 2},
                                    "tags": {"t": "1"}}})["ID"]
        self.assertEqual(self.c.ids({"t": "1"}), [iid])

    def test_unreadable_files(self):
        """Issue 13: a file the client cannot read or parse is named with
        the cause and the place, never jansson's "line -1, column -1"; the
        daemon stays up and nothing is created."""
        bad = os.path.join(self.base, "bad.json")
        with open(bad, "w") as f:
            f.write('{\n  "Properties": {\n    "VMX": "a",,\n  }\n}\n')
        missing = os.path.join(self.base, "missing.json")
        cases = [
            (["provision", missing], None,
             "error: cannot read %s: No such file or directory" % missing),
            (["validate", bad], None,
             "error: %s line 3 column 16: string or '}' expected near ','" % bad),
            (["provision", "-"], '{"Spec":\n', "error: stdin line 2: "),
            (["provision", self.base], None, "error: cannot read %s: Is a directory" % self.base),
            (["group", "commit", missing], None,
             "error: cannot read %s: No such file or directory" % missing),
            (["group", "commit", bad], None, "error: %s line 3 column 16: " % bad),
        ]
        for args, stdin, want in cases:
            with self.subTest(args=args):
                p = self.p.run_cli(*args, check=False, stdin=stdin)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertTrue(p.stderr.startswith(want), p.stderr)
                self.assertNotIn("-1", p.stderr)
        self.assertEqual(self.c.ids(), [])
        self.assert_alive()

    def test_id_as_jansson_reads_it(self):
        """The raw id scanner and jansson agree on which member is "id"
        (issue 11 #15): two candidates are refused, never an object
        echoed as the id; an escaped name alone is the id, echoed as
        sent."""
        for body in (b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},'
                     b'"\\u0069d":7,"ID":{"evil":1}}',
                     b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},'
                     b'"ID":{"evil":1},"i\\u0064":7}',
                     b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},'
                     b'"id":7,"Id":8}'):
            with self.subTest(body=body):
                st, text = self.exchange(http_post(body))
                self.assertEqual(st, 200, text)
                self.assertNotIn("evil", text)
                ans = json.loads(text)
                self.assertIsNone(ans["id"], text)
                self.assertEqual(ans["error"]["code"], -32600, text)
                self.assertIn('2 members are named "id" (letter case aside)',
                              ans["error"]["message"])
                self.assert_alive()
        st, text = self.exchange(http_post(
            b'{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},'
            b'"\\u0069d":9223372036854775807}'))
        self.assertEqual(st, 200, text)
        self.assertTrue(text.endswith(',"id":9223372036854775807}\n'), text)
        self.assertIn("Instance/0.6.1", json.loads(text)["result"]["Objects"])

    def test_get_root_and_other_paths(self):
        self.assert_error(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 405, "POST method required")
        self.assert_error(b"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n", 404, "no such endpoint")
        self.assert_error(http_post(HELLO).replace(b"POST / ", b"POST /x "), 404,
                          "no such endpoint POST /x")
        self.assert_error(b"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", 405, "POST method required")

    def test_body_over_cap(self):
        # Announced too large: refused before reading it.
        big = 2 * 1024 * 1024
        data = (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % big)
        got = self.exchange(data)
        self.assertEqual(got[0], 413)
        self.assertIn("exceeds the limit of 1048576 bytes", json.loads(got[1])["error"]["message"])
        self.assert_alive()
        # Chunked, growing past the cap while being read.
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        data = (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + body)
        got = self.exchange(data)
        self.assertEqual(got[0], 413)
        self.assert_alive()

    def test_idle_and_trickling_clients_do_not_block(self):
        idle = []
        for i in range(40):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.p.socket)
            if i % 2:
                s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\n")  # headers never finish
            idle.append(s)
        try:
            for _ in range(5):
                self.assertLess(self.assert_alive(), harness.RPC_LIMIT)
        finally:
            for s in idle:
                s.close()
        self.assert_alive()

    def test_disconnect_mid_request(self):
        for cut in (10, 40, 80):
            data = http_post(HELLO)[:cut]
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.p.socket)
            s.sendall(data)
            s.close()
        # Body shorter than Content-Length, then the client goes away.
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.p.socket)
        s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\n\r\n{\"jsonrpc\":")
        s.close()
        time.sleep(0.2)
        self.assert_alive()

    def test_garbage_http(self):
        for data in (b"\x00\x01\x02\x03garbage\r\n\r\n", b"POST\r\n\r\n",
                     b"POST / HTTP/9.9\r\n\r\n", b"A" * 100000 + b"\r\n\r\n"):
            got = self.exchange(data, shut=True, timeout=5)
            if got is not None:
                self.assertGreaterEqual(got[0], 400)
            self.assert_alive()


if __name__ == "__main__":
    harness.main()
