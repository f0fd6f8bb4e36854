#!/usr/bin/env python3
"""Guest initialisation through the real plugin (README "Guest
initialisation", src/cloudinit.h): the seed ISO a provision writes, read back
by an independent tool (xorriso/osirrox), the guestinfo keys of the
instance's .vmx, decoded here, and both compared byte for byte with the
user-data and meta-data this file computes from the documented rules.

The vmware backend runs with tests/fakes/fake-vmrun in copy mode (no real VM
needed: the bundle, .vmx and seed.iso are the plugin's real output); the
GuestInit "guestinfo" refusal is checked on the qemu backend. Python 3
stdlib only. Exit 77 (skip) when xorriso or osirrox is missing.
"""

import base64
import email
import email.policy
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import unittest

import harness

FAKE_VMRUN = os.path.join(harness.TESTS_DIR, "fakes", "fake-vmrun")
INIT_MAX = 524288
GZIP_THRESHOLD = 4096
KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdRl1Ew+Q0wY1bq8pNfM3kL2mXcU7oFvZs9hYtJ4rAb alice@laptop"
KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob \"quoted\" \\ back"
SHELL_MIME = "text/x-shellscript"


# --- the documented rules, computed independently ---------------------------

MARKERS = ("#cloud-config-archive", "#cloud-config-jsonp", "#cloud-config",
           "#cloud-boothook", "#include-once", "#include", "#part-handler",
           "#upstart-job", "## template: jinja", "#!")


def expected_user_data(init):
    """user-data bytes for an Init without SSH keys (cloudinit.h)."""
    norm = init.replace("\r\n", "\n")
    low = norm.lower()
    if low.startswith("content-type:") or low.startswith("mime-version:"):
        return norm.encode()
    if any(norm.startswith(m) for m in MARKERS):
        return norm.encode()
    if norm.strip(" \t\n\r\v\f") == "":
        return b"#cloud-config\n{}\n"
    return ("#!/bin/sh\n" + norm + ("" if norm.endswith("\n") else "\n")).encode()


def jq(s):
    """A JSON-quoted YAML scalar as meta-data writes it."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f or o in (0x2028, 0x2029, 0xfffe, 0xffff):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def expected_meta_data(iid, hostname, logical_id=None, tags=None, keys=()):
    lines = ["instance-id: " + jq(iid), "local-hostname: " + jq(hostname)]
    if keys:
        lines.append("public-keys-data: " + jq("\n".join(keys)))
        lines.append("public-keys:")
        lines += ["  - " + jq(k) for k in keys]
    if logical_id is not None or tags:
        lines.append("infrakit:")
    if logical_id is not None:
        lines.append("  logical-id: " + jq(logical_id))
    if tags:
        lines.append("  tags:")
        for k in sorted(tags, key=lambda k: k.encode()):
            lines.append("    %s: %s" % (jq(k), jq(tags[k])))
    return ("\n".join(lines) + "\n").encode()


# --- reading what the plugin wrote --------------------------------------------

def vmx_keys(path):
    """key (lowercased) -> value of a .vmx, |XX escapes undone."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r'\s*([^#=\s][^=]*?)\s*=\s*"(.*)"\s*$', line)
            if m:
                out[m.group(1).lower()] = re.sub(
                    r"\|([0-9A-Fa-f]{2})", lambda x: chr(int(x.group(1), 16)), m.group(2))
    return out


def guestinfo_decode(value, encoding):
    if encoding == "base64":
        return base64.b64decode(value, validate=True)
    if encoding == "gzip+base64":
        return gzip.decompress(base64.b64decode(value, validate=True))
    raise AssertionError("unknown guestinfo encoding %r" % encoding)


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60, **kw)


def make_writable(top):
    for root, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(root, n)
            try:
                os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
            except OSError:
                pass
    try:
        os.chmod(top, 0o700)
    except OSError:
        pass


class GuestInitBase(harness.PluginTest):
    start_plugin = False
    maxDiff = None

    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.base, "fake-state")
        # --guest-key none: the documents of the Spec alone (the plugin's
        # own key is test_cli_qemu's).
        self.p = self.new_plugin(binary=harness.PLUGIN_BIN, backend="vmware",
                                 args=["--vmrun", FAKE_VMRUN, "--clone", "copy",
                                       "--guest-key", "none"],
                                 env={"FAKE_VMRUN_STATE": self.state})
        harness.make_template(self.p.vm_lib, "alpine")
        self.p.start()
        self.c = self.p.client()
        self.n_extract = 0

    def provision_running(self, props=None, init="", tags=None, logical_id=None):
        pr = {"VMX": "alpine"}
        pr.update(props or {})
        iid = self.c.provision(pr, tags=tags, init=init, logical_id=logical_id)["ID"]

        def state():
            for d in self.c.describe(props=True, all_=True):
                if d["ID"] == iid:
                    return d["Properties"].get("State")
            return None
        st = harness.wait_until(lambda: state() in ("running", "failed") and state(),
                                timeout=60, what="%s running" % iid)
        self.assertEqual(st, "running", "provision of %s failed:\n%s"
                         % (iid, self.p.log()[-4000:]))
        return iid

    def vmx_path(self, iid):
        return os.path.join(self.p.bundle(iid), iid + ".vmx")

    def read_iso(self, iso):
        """(volume id, {name: bytes}) as xorriso/osirrox read the image."""
        r = run(["xorriso", "-indev", iso, "-pvd_info"])
        self.assertEqual(r.returncode, 0, r.stdout)
        m = re.search(r"^Volume Id\s*:\s*(.*?)\s*$", r.stdout, re.M)
        self.assertIsNotNone(m, "no Volume Id in xorriso -pvd_info:\n" + r.stdout)
        self.n_extract += 1
        out = os.path.join(self.base, "extract-%d" % self.n_extract)
        r = run(["osirrox", "-indev", iso, "-extract", "/", out])
        self.assertEqual(r.returncode, 0, r.stdout)
        files = {}
        for root, dirs, names in os.walk(out):
            for n in names + [d for d in dirs]:
                rel = os.path.relpath(os.path.join(root, n), out)
                if os.path.isdir(os.path.join(root, n)):
                    files[rel + "/"] = None
                else:
                    with open(os.path.join(root, n), "rb") as f:
                        files[rel] = f.read()
        make_writable(out)
        shutil.rmtree(out, ignore_errors=True)
        return m.group(1), files

    def seed_docs(self, iid):
        """user-data and meta-data from the bundle's seed.iso (independent reader)."""
        iso = os.path.join(self.p.bundle(iid), "seed.iso")
        self.assertTrue(os.path.isfile(iso), "no seed.iso in " + self.p.bundle(iid))
        volid, files = self.read_iso(iso)
        self.assertEqual(volid, "cidata")
        self.assertEqual(sorted(files), ["meta-data", "user-data"])
        return files["user-data"], files["meta-data"]

    def guestinfo_docs(self, iid, want_ud_enc=None):
        k = vmx_keys(self.vmx_path(iid))
        for key in ("guestinfo.userdata", "guestinfo.userdata.encoding",
                    "guestinfo.metadata", "guestinfo.metadata.encoding"):
            self.assertIn(key, k, "%s missing from %s" % (key, self.vmx_path(iid)))
        self.assertIn(k["guestinfo.metadata.encoding"], ("base64", "gzip+base64"))
        ud = guestinfo_decode(k["guestinfo.userdata"], k["guestinfo.userdata.encoding"])
        md = guestinfo_decode(k["guestinfo.metadata"], k["guestinfo.metadata.encoding"])
        # The encoding follows the documented threshold.
        for doc, enc in ((ud, k["guestinfo.userdata.encoding"]),
                         (md, k["guestinfo.metadata.encoding"])):
            self.assertEqual(enc, "gzip+base64" if len(doc) > GZIP_THRESHOLD else "base64",
                             "encoding of a %d-byte document" % len(doc))
        if want_ud_enc is not None:
            self.assertEqual(k["guestinfo.userdata.encoding"], want_ud_enc)
        return ud, md

    def check_both(self, iid, want_ud, want_md, want_ud_enc=None):
        """The seed ISO and the guestinfo keys carry exactly these documents."""
        s_ud, s_md = self.seed_docs(iid)
        g_ud, g_md = self.guestinfo_docs(iid, want_ud_enc)
        self.assertEqual(s_ud, want_ud, "seed.iso user-data of " + iid)
        self.assertEqual(s_md, want_md, "seed.iso meta-data of " + iid)
        self.assertEqual(g_ud, want_ud, "guestinfo.userdata of " + iid)
        self.assertEqual(g_md, want_md, "guestinfo.metadata of " + iid)
        # The seed CD is attached to the VM.
        k = vmx_keys(self.vmx_path(iid))
        seeds = [key for key, v in k.items() if key.endswith(".filename") and v == "seed.iso"]
        self.assertEqual(len(seeds), 1, "seed.iso attached %d times" % len(seeds))
        slot = seeds[0][:-len(".filename")]
        self.assertEqual(k.get(slot + ".present"), "TRUE")
        self.assertEqual(k.get(slot + ".devicetype"), "cdrom-image")


class SeedAndGuestinfo(GuestInitBase):
    """a + b: the seed ISO read back by xorriso, the guestinfo keys decoded."""

    def test_plain_lines(self):
        init = "echo hello\nuname -a"
        iid = self.provision_running(init=init, tags={"tier": "web", "env": "dev"})
        self.assertEqual(expected_user_data(init), b"#!/bin/sh\necho hello\nuname -a\n")
        self.check_both(iid, expected_user_data(init),
                        expected_meta_data(iid, iid, tags={"tier": "web", "env": "dev"}),
                        want_ud_enc="base64")

    def test_tags_escaped(self):
        # Properties.Tags are merged (the Spec's own win); every scalar is a
        # JSON-quoted string, whatever it holds.
        tags = {"env": "dev", "quote\"d": "back\\slash \"q\" tab\t end",
                "unicode": "gr\u00fc\u00dfe \u2713 \u2028 line-sep", "colon: key": "- [x]"}
        iid = self.provision_running({"Tags": {"env": "prop", "extra": "from-props"}},
                                     init="echo tags", tags=tags)
        want_tags = dict(tags, extra="from-props")
        d = [x for x in self.c.describe(props=True) if x["ID"] == iid][0]
        self.assertEqual(d["Tags"], want_tags)
        self.check_both(iid, b"#!/bin/sh\necho tags\n",
                        expected_meta_data(iid, iid, tags=want_tags))
        md = self.seed_docs(iid)[1].decode()
        self.assertIn('    "unicode": "gr\u00fc\u00dfe \u2713 \\u2028 line-sep"\n', md)
        self.assertIn('    "quote\\"d": "back\\\\slash \\"q\\" tab\\t end"\n', md)

    def test_cloud_config(self):
        init = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo hi > /tmp/x']\n"
        iid = self.provision_running(init=init)
        self.check_both(iid, init.encode(), expected_meta_data(iid, iid))

    def test_pet(self):
        init = "touch /tmp/pet"
        iid = self.provision_running(init=init, logical_id="Web-1.example",
                                     tags={"infrakit.group": "pets"})
        # A valid host name becomes the hostname, folded to lowercase.
        self.check_both(iid, expected_user_data(init),
                        expected_meta_data(iid, "web-1.example", logical_id="Web-1.example",
                                           tags={"infrakit.group": "pets"}))
        self.assertEqual(vmx_keys(self.vmx_path(iid)).get("guestinfo.infrakit.logical-id"),
                         "Web-1.example")

    def test_large_init_gzip(self):
        # 200 KB of shell lines that do not compress to nothing.
        lines, n = [], 0
        while sum(len(l) for l in lines) < 200 * 1024:
            lines.append("echo line-%06d %s\n" % (n, format(n * 2654435761 % 2**32, "08x")))
            n += 1
        init = "".join(lines)
        self.assertGreater(len(init), 200 * 1024)
        iid = self.provision_running(init=init)
        want = expected_user_data(init)
        self.check_both(iid, want, expected_meta_data(iid, iid), want_ud_enc="gzip+base64")
        self.assertEqual(self.c.describe(props=True)[0]["Properties"]["State"], "running")
        # The key is really compressed (not base64 of the plain text).
        k = vmx_keys(self.vmx_path(iid))
        self.assertLess(len(k["guestinfo.userdata"]), len(want))


class InitForms(GuestInitBase):
    """c: the table of Init forms, SSH keys, hostnames."""

    def test_table(self):
        table = [
            ("empty", "", b"#cloud-config\n{}\n"),
            ("blank", "  \n\t\n", b"#cloud-config\n{}\n"),
            ("plain", "echo a\necho b\n", b"#!/bin/sh\necho a\necho b\n"),
            ("bash", "#!/bin/bash\necho hi", b"#!/bin/bash\necho hi"),
            ("cloud-config", "#cloud-config\npackages: [curl]\n",
             b"#cloud-config\npackages: [curl]\n"),
            ("unicode", "echo h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c",
             "#!/bin/sh\necho h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\n".encode()),
            ("crlf", "echo one\r\necho two\r\n", b"#!/bin/sh\necho one\necho two\n"),
            ("crlf-lone-cr", "#!/bin/sh\r\necho a\rb\r\n", b"#!/bin/sh\necho a\rb\n"),
        ]
        for name, init, want in table:
            with self.subTest(name):
                self.assertEqual(expected_user_data(init), want, "rule model")
                iid = self.provision_running(init=init)
                self.check_both(iid, want, expected_meta_data(iid, iid))

    def test_ssh_keys(self):
        keys = [KEY1, KEY2]
        for name, init in (("plain", "echo with keys"), ("cloud-config", "#cloud-config\n{}\n"),
                           ("unicode", "echo \u00fcber\n"), ("empty", "")):
            with self.subTest(name):
                iid = self.provision_running({"SSHAuthorizedKeys": keys}, init=init)
                s_ud, s_md = self.seed_docs(iid)
                g_ud, g_md = self.guestinfo_docs(iid)
                self.assertEqual(s_ud, g_ud)
                self.assertEqual(s_md, g_md)
                self.assertEqual(s_md, expected_meta_data(iid, iid, keys=keys))
                msg = email.message_from_bytes(s_ud, policy=email.policy.compat32)
                self.assertTrue(msg.is_multipart(), s_ud[:400])
                self.assertEqual(msg.get_content_type(), "multipart/mixed")
                parts = msg.get_payload()
                self.assertEqual(len(parts), 2)
                self.assertEqual(parts[0].get_content_type(), "text/cloud-config")
                keys_doc = parts[0].get_payload(decode=True).decode()
                self.assertTrue(keys_doc.startswith("#cloud-config\n"), keys_doc)
                self.assertIn("ssh_authorized_keys:", keys_doc)
                for k in keys:
                    self.assertIn("  - " + jq(k), keys_doc)
                # The Init part is the user-data one would get without keys.
                want = expected_user_data(init)
                self.assertEqual(parts[1].get_content_type(),
                                 "text/cloud-config" if want.startswith(b"#cloud-config")
                                 else SHELL_MIME)
                self.assertEqual(parts[1].get_payload(decode=True), want)
                self.assertEqual(parts[1]["Content-Transfer-Encoding"],
                                 "7bit" if want.isascii() else "base64")
                self.assertEqual(msg.epilogue, "", "nothing after the closing boundary")

    def test_ssh_keys_mime_init(self):
        # A MIME Init is never wrapped: the keys reach the guest through
        # meta-data only.
        init = ('Content-Type: multipart/mixed; boundary="b"\nMIME-Version: 1.0\n\n'
                '--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho mime\n--b--\n')
        iid = self.provision_running({"SSHAuthorizedKeys": [KEY1]}, init=init)
        self.check_both(iid, init.encode(), expected_meta_data(iid, iid, keys=[KEY1]))

    def test_hostnames(self):
        cases = [
            ("web_1!", None),                        # not a host name: the instance ID
            ("192.168.0.11", "ip-192-168-0-11"),      # IPv4
            ("db-2", "db-2"),
            ("-bad-", None),
            ("1234", None),                          # all-digit last label
        ]
        for lid, host in cases:
            with self.subTest(lid):
                iid = self.provision_running(init="true", logical_id=lid)
                want_host = host if host is not None else iid
                self.check_both(iid, b"#!/bin/sh\ntrue\n",
                                expected_meta_data(iid, want_host, logical_id=lid))


class GuestInitModes(GuestInitBase):
    """d: GuestInit none / cidata / guestinfo / auto."""

    def keys_and_iso(self, iid):
        k = vmx_keys(self.vmx_path(iid))
        gi = sorted(x for x in k if x.startswith("guestinfo.userdata") or
                    x.startswith("guestinfo.metadata"))
        iso = os.path.exists(os.path.join(self.p.bundle(iid), "seed.iso"))
        attached = any(x.endswith(".filename") and v == "seed.iso" for x, v in k.items())
        return gi, iso, attached

    def test_modes(self):
        all_keys = ["guestinfo.metadata", "guestinfo.metadata.encoding",
                    "guestinfo.userdata", "guestinfo.userdata.encoding"]
        for mode, want in (("none", ([], False, False)),
                           ("cidata", ([], True, True)),
                           ("guestinfo", (all_keys, False, False)),
                           ("auto", (all_keys, True, True)),
                           (None, (all_keys, True, True))):
            with self.subTest(mode):
                props = {} if mode is None else {"GuestInit": mode}
                self.c.validate(dict(props, VMX="alpine"))
                iid = self.provision_running(props, init="echo mode")
                self.assertEqual(self.keys_and_iso(iid), want)
                # The instance's own keys are there whatever the mode.
                self.assertEqual(vmx_keys(self.vmx_path(iid)).get("guestinfo.infrakit.id"), iid)
                if want[1]:
                    ud, md = self.seed_docs(iid)
                    self.assertEqual(ud, b"#!/bin/sh\necho mode\n")
                    self.assertEqual(md, expected_meta_data(iid, iid))
                if want[0]:
                    ud, md = self.guestinfo_docs(iid)
                    self.assertEqual(ud, b"#!/bin/sh\necho mode\n")
                    self.assertEqual(md, expected_meta_data(iid, iid))


@unittest.skipUnless(shutil.which("qemu-system-x86_64") and shutil.which("qemu-img"),
                     "QEMU not installed")
class QemuGuestinfoRefused(harness.PluginTest):
    start_plugin = False

    def test_guestinfo_refused_on_qemu(self):
        p = self.new_plugin(binary=harness.PLUGIN_BIN, backend="qemu")
        # A template QEMU accepts: one existing (dummy) disk image.
        harness.make_template(p.vm_lib, "q", text=harness.TEMPLATE_VMX.format(name="q") +
                              'scsi0.present = "TRUE"\nscsi0:0.present = "TRUE"\n'
                              'scsi0:0.fileName = "q.vmdk"\n')
        with open(os.path.join(p.vm_lib, "q.vmwarevm", "q.vmdk"), "wb") as f:
            f.write(b"\0" * 512)
        p.start()
        c = p.client()
        try:
            for ok in ("auto", "cidata", "none"):
                c.validate({"VMX": "q", "GuestInit": ok})
            e = c.validate({"VMX": "q", "GuestInit": "guestinfo"}, want_error=True)
            self.assertIn("GuestInit", e["message"])
            self.assertIn("guestinfo", e["message"])
            e = c.provision({"VMX": "q", "GuestInit": "guestinfo"}, init="x", want_error=True)
            self.assertIn("GuestInit", e["message"])
            self.assertEqual(c.describe(all_=True), [])
            self.assertEqual([n for n in os.listdir(p.vm_dir) if not n.startswith(".")], [])
        finally:
            c.close()


class BadInput(GuestInitBase):
    """e: refused by Validate and Provision, nothing left on disk."""

    def entries(self):
        """(directories under vm-dir, entries of vm-dir/.staging)."""
        top = sorted(n for n in os.listdir(self.p.vm_dir)
                     if os.path.isdir(os.path.join(self.p.vm_dir, n)))
        staging = os.path.join(self.p.vm_dir, ".staging")
        st = sorted(os.listdir(staging)) if os.path.isdir(staging) else []
        return top, st

    def test_refused(self):
        before = self.entries()
        self.assertEqual(before, ([".staging"], []))
        props_cases = [
            ("GuestInit ssh", {"GuestInit": "ssh"}, "GuestInit"),
            ("GuestInit number", {"GuestInit": 1}, "GuestInit"),
            ("keys not an array", {"SSHAuthorizedKeys": KEY1}, "SSHAuthorizedKeys"),
            ("key with a newline", {"SSHAuthorizedKeys": [KEY1 + "\n" + KEY2]},
             "SSHAuthorizedKeys"),
            ("key with a CR", {"SSHAuthorizedKeys": [KEY1, "ssh-rsa AAA\rx"]},
             "SSHAuthorizedKeys"),
            ("empty key", {"SSHAuthorizedKeys": [""]}, "SSHAuthorizedKeys"),
        ]
        for name, extra, word in props_cases:
            with self.subTest(name):
                props = dict({"VMX": "alpine"}, **extra)
                e = self.c.validate(props, want_error=True)
                self.assertIn(word, e["message"])
                e = self.c.provision(props, init="echo x", want_error=True)
                self.assertIn(word, e["message"])
        init_cases = [
            ("NUL byte", "echo a\u0000b"),
            ("too long", "#" * (INIT_MAX + 1)),
            ("too long plain", "e" * (INIT_MAX + 1)),
        ]
        for name, init in init_cases:
            with self.subTest(name):
                # Validate only sees Properties: these are fine there.
                self.c.validate({"VMX": "alpine"})
                e = self.c.provision({"VMX": "alpine"}, init=init, want_error=True)
                self.assertIn("Init", e["message"])
        self.assertEqual(self.c.describe(all_=True), [])
        self.assertEqual(self.entries(), before)
        # The limit itself is accepted.
        ok = self.provision_running(init="#" * INIT_MAX)
        self.assertEqual(self.c.describe(all_=True)[0]["ID"], ok)
        self.assertEqual(len(self.c.describe(all_=True)), 1)
        top, st = self.entries()
        self.assertEqual(top, sorted(before[0] + [ok]))
        self.assertEqual(st, [])
        self.assertEqual(self.seed_docs(ok)[0], expected_user_data("#" * INIT_MAX))


def main():
    missing = [t for t in ("xorriso", "osirrox") if shutil.which(t) is None]
    if missing:
        print("guestinit: SKIP: %s not installed (scripts/deps.sh run)" % ", ".join(missing))
        sys.exit(77)
    harness.main()


if __name__ == "__main__":
    main()
