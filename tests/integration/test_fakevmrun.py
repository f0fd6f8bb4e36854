#!/usr/bin/env python3
"""Checks tests/fakes/fake-vmrun against spec/vmware.md (python3, stdlib).

Every call checks stdout, the exit status (0, or 255 with the message on
stdout) and that stderr is empty, then the effect on disk. Each test gets
its own temporary directory, state directory, call log and control
directory, so tests never see each other's VMs.

Run by meson (env TESTS_DIR = the tests/ directory), or by hand:
    python3 tests/integration/test_fakevmrun.py -v
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TESTS_DIR = os.environ.get("TESTS_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
FAKE = os.path.join(TESTS_DIR, "fakes", "fake-vmrun")

E_TOOLS = "Error: The VMware Tools are not running in the virtual machine: "
E_NOT_ON = "Error: The virtual machine is not powered on\n"
E_IS_RUNNING = ("Error: The virtual machine should not be powered on. It is "
                "already running\n")
E_INVALID = "Error: One of the parameters was invalid\n"
E_NOT_SUPPORTED = ("Error: The operation is not supported for the specified "
                   "parameters\n")
E_PLAYER_WS = ("Unable to connect to host.\n"
               "Error: Service type VIX_SERVICEPROVIDER_VMWARE_WORKSTATION "
               "was specified, but not installed\n")
NOISE = "2013-09-07T15:26:59.560| ServiceImpl_Opener: PID 4119"

VMX = """\
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "{name}"
guestOS = "other5xlinux-64"
memsize = "512"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "disk.vmdk"
sata0.present = "TRUE"
sata0:1.present = "TRUE"
sata0:1.deviceType = "cdrom-image"
sata0:1.fileName = "/nonexistent/seed.iso"
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.virtualDev = "vmxnet3"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "{mac}"
ethernet0.generatedAddressOffset = "0"
uuid.bios = "56 4d 01 02 03 04 05 06-07 08 09 0a 0b 0c 0d 0e"
extendedConfigFile = "{name}.vmxf"
nvram = "{name}.nvram"
"""

DISK = """\
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fb183c20
parentCID=ffffffff
createType="twoGbMaxExtentSparse"

# Extent description
RW 8388608 SPARSE "disk-s001.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "19"
"""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def vmx_get(path, key):
    """The value of key in a VMX-syntax file (case-insensitive), or None."""
    for line in read(path).splitlines():
        m = re.match(r'\s*([^#=\s][^=]*?)\s*=\s*"(.*)"\s*$', line)
        if m and m.group(1).lower() == key.lower():
            return m.group(2)
    return None


class FakeVmrunTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="fakevmrun-"))
        self.ctl = os.path.join(self.tmp, "ctl")
        os.mkdir(self.ctl)
        self.log = os.path.join(self.tmp, "calls.log")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("FAKE_VMRUN_")}
        self.env.update(FAKE_VMRUN_STATE=os.path.join(self.tmp, "state"),
                        FAKE_VMRUN_LOG=self.log, FAKE_VMRUN_CTL=self.ctl)
        self.procs = []
        self.vmx = self.make_vm("lib/tmpl.vmwarevm", "tmpl",
                                "00:0c:29:11:22:33")
        self.vmdir = os.path.dirname(self.vmx)

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def make_vm(self, rel, name, mac):
        d = os.path.join(self.tmp, rel)
        os.makedirs(d)
        vmx = os.path.join(d, name + ".vmx")
        write(vmx, VMX.format(name=name, mac=mac))
        write(os.path.join(d, "disk.vmdk"), DISK)
        for f in ("disk-s001.vmdk", name + ".nvram", name + ".vmxf"):
            write(os.path.join(d, f), "")
        return vmx

    # -- running the fake

    def call(self, *args, env=None, timeout=30, direct=False, cwd=None):
        """Runs the fake; returns (status, stdout, stderr)."""
        e = dict(self.env)
        e.update(env or {})
        # The interpreter is named directly to skip a version-manager shim;
        # test_executable runs the script through its #! line.
        cmd = [FAKE] if direct else [sys.executable, FAKE]
        # Relative paths resolve inside the test's own directory.
        p = subprocess.run(cmd + list(args), env=e, capture_output=True,
                           timeout=timeout, cwd=cwd or self.tmp)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def ok(self, *args, **kw):
        rc, out, err = self.call(*args, **kw)
        self.assertEqual((rc, err), (0, ""), "%r: %s" % (args, out))
        return out

    def fails(self, expected, *args, **kw):
        rc, out, err = self.call(*args, **kw)
        self.assertEqual(out, expected, repr(args))
        self.assertEqual((rc, err), (255, ""), repr(args))

    def fails_like(self, pattern, *args, **kw):
        rc, out, err = self.call(*args, **kw)
        self.assertEqual((rc, err), (255, ""), "%r: %s" % (args, out))
        self.assertRegex(out, pattern)
        self.assertNotIn("Traceback", out)
        return out

    def running(self):
        out = self.ok("-T", "fusion", "list")
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^Total running VMs: \d+$")
        self.assertEqual(int(lines[0].split(": ")[1]), len(lines) - 1)
        return lines[1:]

    def ctl_env(self, **kv):
        write(os.path.join(self.ctl, "env"),
              "".join("%s=%s\n" % item for item in kv.items()))

    def log_records(self):
        if not os.path.exists(self.log):
            return []
        return [json.loads(l) for l in read(self.log).splitlines()]

    # -- list, start, stop

    def test_executable(self):
        self.assertTrue(os.access(FAKE, os.X_OK))
        with open(FAKE, encoding="utf-8") as f:
            self.assertEqual(f.readline(), "#!/usr/bin/env python3\n")
        self.assertEqual(self.ok("-T", "fusion", "list", direct=True),
                         "Total running VMs: 0\n")

    def test_list_empty(self):
        self.assertEqual(self.ok("list"), "Total running VMs: 0\n")
        self.assertEqual(self.ok("-T", "ws", "list"),
                         "Total running VMs: 0\n")

    def test_start_list_stop(self):
        self.assertEqual(self.ok("-T", "fusion", "start", self.vmx, "nogui"),
                         "")
        self.assertEqual(self.running(), [self.vmx])
        lck = self.vmx + ".lck"
        self.assertTrue(os.path.isdir(lck) and os.listdir(lck))
        self.assertTrue(os.path.isdir(os.path.join(self.vmdir,
                                                   "disk.vmdk.lck")))
        # VMware writes identity into the vmx at power-on.
        self.assertIsNotNone(vmx_get(self.vmx, "uuid.location"))
        self.assertEqual(vmx_get(self.vmx, "ethernet0.generatedAddress"),
                         "00:0c:29:11:22:33")
        self.fails(E_IS_RUNNING, "-T", "fusion", "start", self.vmx, "nogui")
        self.assertEqual(self.ok("-T", "fusion", "stop", self.vmx, "hard"),
                         "")
        self.assertEqual(self.running(), [])
        self.assertFalse(os.path.exists(lck))
        self.assertFalse(os.path.exists(os.path.join(self.vmdir,
                                                     "disk.vmdk.lck")))
        self.fails(E_NOT_ON, "-T", "fusion", "stop", self.vmx, "hard")

    def test_list_absolute_paths(self):
        # A relative path at start still lists as an absolute one.
        self.ok("-T", "fusion", "start", "tmpl.vmx", "nogui", cwd=self.vmdir)
        link = os.path.join(self.tmp, "link")
        os.symlink(self.vmdir, link)
        other = self.make_vm("vms/My VM.vmwarevm", "My VM",
                             "00:0c:29:44:55:66")
        self.ok("-T", "fusion", "start",
                os.path.join(link, "..", "vms", "My VM.vmwarevm",
                             "My VM.vmx"), "nogui")
        self.assertEqual(sorted(self.running()), sorted([self.vmx, other]))
        # Stopping through a symlinked path finds the same VM.
        self.ok("-T", "fusion", "stop", os.path.join(link, "tmpl.vmx"),
                "hard")
        self.assertEqual(self.running(), [other])

    def test_list_lie(self):
        """FAKE_VMRUN_LIST_LIE: a fault injection, off by default."""
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.assertEqual(self.ok("-T", "fusion", "list"),
                         "Total running VMs: 1\n%s\n" % self.vmx)
        self.assertEqual(self.ok("-T", "fusion", "list",
                                 env={"FAKE_VMRUN_LIST_LIE": "nopaths"}),
                         "Total running VMs: 1\n")
        self.ctl_env(FAKE_VMRUN_LIST_LIE="count=3")
        self.assertEqual(self.ok("-T", "fusion", "list"),
                         "Total running VMs: 3\n%s\n" % self.vmx)
        self.ctl_env()
        self.assertEqual(self.running(), [self.vmx])

    def test_generated_mac(self):
        vmx = self.make_vm("vms/new", "new", "unused")
        text = read(vmx).replace(
            'ethernet0.generatedAddress = "unused"\n', "")
        write(vmx, text.replace('uuid.bios = "56 4d 01 02 03 04 05 06-07 08 '
                                '09 0a 0b 0c 0d 0e"\n', ""))
        self.ok("-T", "fusion", "start", vmx, "nogui")
        mac = vmx_get(vmx, "ethernet0.generatedAddress")
        self.assertRegex(mac, r"^00:0c:29:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")
        self.assertRegex(vmx_get(vmx, "uuid.bios"),
                         r"^([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}"
                         r"[0-9a-f]{2}$")

    def test_start_errors(self):
        missing = os.path.join(self.tmp, "nope", "nope.vmx")
        msg = ("Error: Cannot open VM: %s, Cannot read the virtual machine "
               "configuration file\n")
        self.fails(msg % missing, "-T", "fusion", "start", missing, "nogui")
        self.fails(msg % self.vmdir, "-T", "fusion", "start", self.vmdir)
        # The message names the path as given.
        self.fails(msg % "nope.vmx", "-T", "fusion", "start", "nope.vmx",
                   cwd=self.tmp)
        # Noise before the Error line (vagrant #2159).
        self.fails(NOISE + "\n" + msg % missing, "-T", "fusion", "start",
                   missing, env={"FAKE_VMRUN_NOISE": "1"})
        # A duplicate key makes the file unreadable (bosh-lite #61).
        dup = self.make_vm("vms/dup", "dup", "00:0c:29:00:00:01")
        with open(dup, "a") as f:
            f.write('MSG.autoAnswer = "TRUE"\nmsg.autoanswer = "TRUE"\n')
        self.fails(msg % dup, "-T", "fusion", "start", dup)
        bad = self.make_vm("vms/bad", "bad", "00:0c:29:00:00:02")
        with open(bad, "ab") as f:
            f.write(b"\xff\xfe garbage without equals\n")
        self.fails(msg % bad, "-T", "fusion", "start", bad)
        self.fails(E_INVALID, "-T", "fusion", "start", self.vmx, "headless")
        self.assertEqual(self.running(), [])

    def test_stale_lock(self):
        lck = self.vmx + ".lck"
        os.mkdir(lck)
        # An empty lock directory is harmless (GNS3 #328).
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.ok("-T", "fusion", "stop", self.vmx, "hard")
        os.mkdir(lck)
        write(os.path.join(lck, "M15203.lck"), "uuid=52-fa 48980 1 X lc=1")
        self.fails("Error: The file is already in use\n", "-T", "fusion",
                   "start", self.vmx, "nogui")
        self.assertEqual(self.running(), [])
        shutil.rmtree(lck)
        self.ok("-T", "fusion", "start", self.vmx, "nogui")

    def test_missing_disk(self):
        os.unlink(os.path.join(self.vmdir, "disk.vmdk"))
        self.fails("Error: The operation was canceled\n", "-T", "fusion",
                   "start", self.vmx, "nogui")
        self.assertIn("Msg_Post: Error",
                      read(os.path.join(self.vmdir, "vmware.log")))
        self.assertEqual(self.running(), [])

    def test_deleted_while_running(self):
        # The vmware-vmx process would go on: still listed until stopped.
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        shutil.rmtree(self.vmdir)
        self.assertEqual(self.running(), [self.vmx])
        self.ok("-T", "fusion", "stop", self.vmx, "hard")
        self.assertEqual(self.running(), [])

    # -- suspend, pause

    def test_suspend_resume(self):
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.assertEqual(self.ok("-T", "fusion", "suspend", self.vmx,
                                 "hard"), "")
        vmss = os.path.join(self.vmdir, "tmpl.vmss")
        self.assertTrue(os.path.isfile(vmss))
        self.assertEqual(vmx_get(self.vmx, "checkpoint.vmState"),
                         "tmpl.vmss")
        self.assertEqual(self.running(), [])
        self.assertFalse(os.path.exists(self.vmx + ".lck"))
        self.fails(E_NOT_ON, "-T", "fusion", "suspend", self.vmx, "hard")
        # start resumes
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.assertFalse(os.path.exists(vmss))
        self.assertEqual(vmx_get(self.vmx, "checkpoint.vmState"), "")
        self.assertEqual(self.running(), [self.vmx])

    def test_suspend_workstation_vmem(self):
        ws = {"FAKE_VMRUN_PRODUCT": "ws-pro"}
        self.ok("-T", "ws", "start", self.vmx, "nogui", env=ws)
        self.ok("-T", "ws", "suspend", self.vmx, "hard", env=ws)
        self.assertTrue(os.path.isfile(os.path.join(self.vmdir,
                                                    "tmpl.vmem")))
        self.ok("-T", "ws", "start", self.vmx, "nogui", env=ws)
        self.assertFalse(os.path.exists(os.path.join(self.vmdir,
                                                     "tmpl.vmem")))

    def test_pause_unpause(self):
        self.fails(E_NOT_ON, "-T", "fusion", "pause", self.vmx)
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.assertEqual(self.ok("-T", "fusion", "pause", self.vmx), "")
        self.assertTrue(os.path.exists(os.path.join(self.vmdir,
                                                    ".fake-paused")))
        self.assertEqual(self.running(), [self.vmx])  # paused stays listed
        self.assertEqual(self.ok("-T", "fusion", "unpause", self.vmx), "")
        self.assertFalse(os.path.exists(os.path.join(self.vmdir,
                                                     ".fake-paused")))
        ws = {"FAKE_VMRUN_PRODUCT": "ws-pro"}
        self.ok("-T", "ws", "pause", self.vmx, env=ws)
        self.ok("-T", "ws", "unpause", self.vmx, env=ws)
        # Not with the Player provider, on Workstation or on Player.
        self.fails(E_NOT_SUPPORTED, "-T", "player", "pause", self.vmx,
                   env=ws)
        player = {"FAKE_VMRUN_PRODUCT": "player"}
        self.fails(E_NOT_SUPPORTED, "-T", "player", "pause", self.vmx,
                   env=player)
        self.fails(E_NOT_SUPPORTED, "-T", "player", "unpause", self.vmx,
                   env=player)

    # -- tools, soft power, IP

    def test_soft_stop_needs_tools(self):
        never = {"FAKE_VMRUN_TOOLS_DELAY": "never"}
        self.ok("-T", "fusion", "start", self.vmx, "nogui", env=never)
        self.assertEqual(self.ok("-T", "fusion", "checkToolsState", self.vmx,
                                 env=never), "installed\n")
        self.fails(E_TOOLS + self.vmx + "\n", "-T", "fusion", "stop",
                   self.vmx, "soft", env=never)
        # A bare stop is soft on Fusion...
        self.fails(E_TOOLS + self.vmx + "\n", "-T", "fusion", "stop",
                   self.vmx, env=never)
        self.fails(E_TOOLS + self.vmx + "\n", "-T", "fusion", "reset",
                   self.vmx, "soft", env=never)
        self.fails(E_TOOLS + self.vmx + "\n", "-T", "fusion", "suspend",
                   self.vmx, "soft", env=never)
        self.assertEqual(self.running(), [self.vmx])
        self.ok("-T", "fusion", "stop", self.vmx, "hard", env=never)
        self.assertEqual(self.running(), [])
        # ... and hard on Workstation.
        ws = dict(never, FAKE_VMRUN_PRODUCT="ws-pro")
        self.ok("-T", "ws", "start", self.vmx, "nogui", env=ws)
        self.ok("-T", "ws", "stop", self.vmx, env=ws)
        # Tools forced up by the test.
        self.ok("-T", "fusion", "start", self.vmx, "nogui", env=never)
        write(os.path.join(self.vmdir, ".fake-tools"), "running\n")
        self.assertEqual(self.ok("-T", "fusion", "checkToolsState", self.vmx,
                                 env=never), "running\n")
        self.ok("-T", "fusion", "stop", self.vmx, "soft", env=never)
        self.assertEqual(self.ok("-T", "fusion", "checkToolsState", self.vmx),
                         "unknown\n")

    def test_guest_ip(self):
        self.fails(E_NOT_ON, "-T", "fusion", "getGuestIPAddress", self.vmx)
        delay = {"FAKE_VMRUN_TOOLS_DELAY": "1.5"}
        self.ok("-T", "fusion", "start", self.vmx, "nogui", env=delay)
        self.fails(E_TOOLS + self.vmx + "\n", "-T", "fusion",
                   "getGuestIPAddress", self.vmx, env=delay)
        t0 = time.monotonic()
        ip = self.ok("-T", "fusion", "getGuestIPAddress", self.vmx, "-wait",
                     env=delay)
        self.assertGreater(time.monotonic() - t0, 0.5)
        self.assertRegex(ip, r"^172\.16\.\d{1,3}\.\d{1,3}\n$")
        octets = [int(x) for x in ip.split(".")]
        self.assertTrue(all(0 <= o <= 255 for o in octets))
        self.assertNotIn(octets[3], (0, 1, 255))
        # Stable, and different for a VM with another MAC.
        self.assertEqual(self.ok("-T", "fusion", "getGuestIPAddress",
                                 self.vmx), ip)
        other = self.make_vm("vms/b", "b", "00:0c:29:aa:bb:cc")
        self.ok("-T", "fusion", "start", other, "nogui")
        self.assertNotEqual(self.ok("-T", "fusion", "getGuestIPAddress",
                                    other), ip)
        self.assertEqual(self.ok("-T", "fusion", "getGuestIPAddress",
                                 self.vmx, env={"FAKE_VMRUN_NO_IP": "1"}),
                         "unknown\n")

    def test_wait_follows_control_file(self):
        # A plugin's fake is steered through $FAKE_VMRUN_CTL/env.
        self.ctl_env(FAKE_VMRUN_TOOLS_DELAY="never")
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        p = subprocess.Popen(
            [sys.executable, FAKE, "-T", "fusion", "getGuestIPAddress",
             self.vmx, "-wait"], env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(p)
        time.sleep(0.8)
        self.assertIsNone(p.poll())
        self.ctl_env(FAKE_VMRUN_TOOLS_DELAY="0")
        out, err = p.communicate(timeout=20)
        self.assertEqual((p.returncode, err), (0, b""))
        self.assertRegex(out.decode(), r"^172\.16\.\d+\.\d+\n$")
        # The control file wins over the environment.
        self.ctl_env(FAKE_VMRUN_FAIL_LIST="from ctl")
        self.fails("Error: from ctl\n", "list",
                   env={"FAKE_VMRUN_FAIL_LIST": "from env"})

    def test_wait_ends_when_vm_stops(self):
        never = {"FAKE_VMRUN_TOOLS_DELAY": "never"}
        self.ok("-T", "fusion", "start", self.vmx, "nogui", env=never)
        env = dict(self.env, **never)
        p = subprocess.Popen(
            [sys.executable, FAKE, "-T", "fusion", "getGuestIPAddress",
             self.vmx, "-wait"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(p)
        time.sleep(0.5)
        self.ok("-T", "fusion", "stop", self.vmx, "hard")
        out, err = p.communicate(timeout=20)
        self.assertEqual((p.returncode, out, err),
                         (255, E_NOT_ON.encode(), b""))

    def test_leases_file(self):
        leases = os.path.join(self.tmp, "vmnet8.leases")
        env = {"FAKE_VMRUN_LEASES": leases}
        self.ok("-T", "fusion", "start", self.vmx, "nogui", env=env)
        ip = self.ok("-T", "fusion", "getGuestIPAddress", self.vmx).strip()
        text = read(leases)
        self.assertRegex(text, r"lease %s \{\n\tstarts \d \d{4}/\d\d/\d\d "
                         r"\d\d:\d\d:\d\d;\n\tends \d \d{4}/\d\d/\d\d "
                         r"\d\d:\d\d:\d\d;\n\thardware ethernet "
                         r"00:0c:29:11:22:33;\n" % re.escape(ip))

    # -- clone

    def test_clone_full(self):
        for f in ("vmware.log", "vmware-0.log", "tmpl.vmem", "tmpl.vmsn"):
            write(os.path.join(self.vmdir, f), "x")
        dst = os.path.join(self.tmp, "vms", "i-1", "i-1.vmx")
        self.assertEqual(self.ok("-T", "fusion", "clone", self.vmx, dst,
                                 "full", "-cloneName=web-1"), "")
        ddir = os.path.dirname(dst)
        files = set(os.listdir(ddir))
        self.assertTrue({"i-1.vmx", "disk.vmdk", "disk-s001.vmdk",
                         "tmpl.nvram"} <= files, files)
        for bad in ("vmware.log", "vmware-0.log", "tmpl.vmem", "tmpl.vmsn",
                    "tmpl.vmx", "tmpl.vmx.lck"):
            self.assertNotIn(bad, files)
        self.assertFalse(any(f.endswith((".lck", ".vmss")) for f in files))
        self.assertEqual(vmx_get(dst, "displayName"), "web-1")
        self.assertIsNone(vmx_get(dst, "ethernet0.generatedAddress"))
        self.assertIsNone(vmx_get(dst, "ethernet0.generatedAddressOffset"))
        self.assertEqual(vmx_get(dst, "ethernet0.addressType"), "generated")
        self.assertIsNotNone(vmx_get(dst, "uuid.bios"))
        self.assertNotEqual(vmx_get(dst, "uuid.bios"),
                            vmx_get(self.vmx, "uuid.bios"))
        self.assertIsNotNone(vmx_get(dst, "uuid.location"))
        self.assertEqual(vmx_get(dst, "scsi0:0.fileName"), "disk.vmdk")
        self.assertEqual(read(os.path.join(ddir, "disk.vmdk")), DISK)
        self.assertIsNone(vmx_get(os.path.join(ddir, "i-1.vmsd"),
                                  "cloneOf0"))
        # No bookkeeping in the source for a full clone.
        self.assertFalse(os.path.exists(os.path.join(self.vmdir,
                                                     "tmpl.vmsd")))
        # Without -cloneName the name is the destination's; packer's
        # two-argument form works too.
        dst2 = os.path.join(self.tmp, "vms", "i-2", "i-2.vmx")
        self.ok("-T", "fusion", "clone", self.vmx, dst2, "full")
        self.assertEqual(vmx_get(dst2, "displayName"), "i-2")
        dst3 = os.path.join(self.tmp, "vms", "i-3", "i-3.vmx")
        self.ok("-T", "fusion", "clone", self.vmx, dst3, "full",
                "-cloneName", "web-3")
        self.assertEqual(vmx_get(dst3, "displayName"), "web-3")
        # The clone boots and gets its own MAC.
        self.ok("-T", "fusion", "start", dst, "nogui")
        self.assertNotEqual(vmx_get(dst, "ethernet0.generatedAddress"),
                            "00:0c:29:11:22:33")
        self.assertEqual(self.running(), [dst])

    def test_clone_linked(self):
        self.ok("-T", "fusion", "snapshot", self.vmx, "base")
        dst = os.path.join(self.tmp, "vms", "l-1", "l-1.vmx")
        self.assertEqual(self.ok("-T", "fusion", "clone", self.vmx, dst,
                                 "linked", "-snapshot=base",
                                 "-cloneName=l-1"), "")
        ddir = os.path.dirname(dst)
        disk = vmx_get(dst, "scsi0:0.fileName")
        self.assertNotEqual(disk, "disk.vmdk")
        desc = read(os.path.join(ddir, disk))
        self.assertIn('parentFileNameHint="%s"' %
                      os.path.join(self.vmdir, "disk.vmdk"), desc)
        self.assertIn("parentCID=fb183c20", desc)
        self.assertFalse(os.path.exists(os.path.join(ddir, "disk.vmdk")))
        self.assertEqual(vmx_get(dst, "displayName"), "l-1")
        self.assertIsNone(vmx_get(dst, "ethernet0.generatedAddress"))
        dsd = os.path.join(ddir, "l-1.vmsd")
        self.assertEqual(vmx_get(dsd, "cloneOf0"), self.vmx)
        sd = os.path.join(self.vmdir, "tmpl.vmsd")
        self.assertEqual(vmx_get(sd, "snapshot0.displayName"), "base")
        self.assertEqual(vmx_get(sd, "snapshot0.numClones"), "1")
        self.assertEqual(vmx_get(sd, "snapshot0.clone0"), dst)
        # A second clone, packer style (-snapshot <name> as two args).
        dst2 = os.path.join(self.tmp, "vms", "l-2", "l-2.vmx")
        self.ok("-T", "fusion", "clone", self.vmx, dst2, "linked",
                "-snapshot", "base", "-cloneName", "l-2")
        self.assertEqual(vmx_get(sd, "snapshot0.numClones"), "2")
        self.assertEqual(vmx_get(sd, "snapshot0.clone1"), dst2)
        # Both boot; their chains lead into the template.
        self.ok("-T", "fusion", "start", dst, "nogui")
        self.ok("-T", "fusion", "start", dst2, "nogui")
        self.assertEqual(sorted(self.running()), sorted([dst, dst2]))
        self.ok("-T", "fusion", "stop", dst, "hard")
        # Deleting the parent disk breaks the clone.
        os.rename(os.path.join(self.vmdir, "disk.vmdk"),
                  os.path.join(self.vmdir, "moved.vmdk"))
        self.fails("Error: The operation was canceled\n", "-T", "fusion",
                   "start", dst, "nogui")

    def test_clone_linked_without_snapshot(self):
        dst = os.path.join(self.tmp, "vms", "l-3", "l-3.vmx")
        self.ok("-T", "fusion", "clone", self.vmx, dst, "linked")
        out = self.ok("-T", "fusion", "listSnapshots", self.vmx)
        self.assertTrue(out.startswith("Total snapshots: 1\n"), out)
        self.assertEqual(vmx_get(os.path.join(self.vmdir, "tmpl.vmsd"),
                                 "snapshot0.clone0"), dst)

    def test_clone_errors(self):
        dst = os.path.join(self.tmp, "vms", "x", "x.vmx")
        self.fails_like(r"^Error: .*does not exist\n$", "-T", "fusion",
                        "clone", self.vmx, dst, "linked", "-snapshot=none")
        self.fails(E_INVALID, "-T", "fusion", "clone", self.vmx, dst, "deep")
        self.fails(E_INVALID, "-T", "fusion", "clone", self.vmx, "x/x.vmx",
                   "full")
        self.fails_like(r"^Error: Cannot open VM: ", "-T", "fusion", "clone",
                        os.path.join(self.tmp, "no.vmx"), dst, "full")
        # Non-Pro Fusion (packer #787).
        self.fails(E_INVALID, "-T", "fusion", "clone", self.vmx, dst, "full",
                   env={"FAKE_VMRUN_PRODUCT": "fusion-std"})
        self.fails(E_INVALID, "-T", "fusion", "clone", self.vmx, dst,
                   "linked", env={"FAKE_VMRUN_PRODUCT": "fusion-std"})
        # Player cannot clone; -T ws on a Player host cannot connect.
        player = {"FAKE_VMRUN_PRODUCT": "player"}
        self.fails(E_NOT_SUPPORTED, "-T", "player", "clone", self.vmx, dst,
                   "full", env=player)
        self.fails(E_PLAYER_WS, "-T", "ws", "clone", self.vmx, dst, "full",
                   env=player)
        self.assertFalse(os.path.exists(os.path.dirname(dst)))
        # The source must be powered off (VIX 3007).
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.fails(E_IS_RUNNING, "-T", "fusion", "clone", self.vmx, dst,
                   "full")
        self.ok("-T", "fusion", "pause", self.vmx)
        self.fails(E_IS_RUNNING, "-T", "fusion", "clone", self.vmx, dst,
                   "linked")
        # Suspended: no linked clone, a full one is fine.
        self.ok("-T", "fusion", "unpause", self.vmx)
        self.ok("-T", "fusion", "suspend", self.vmx, "hard")
        self.fails(E_IS_RUNNING, "-T", "fusion", "clone", self.vmx, dst,
                   "linked")
        self.ok("-T", "fusion", "clone", self.vmx, dst, "full")
        self.assertFalse(any(f.endswith(".vmss") for f in
                             os.listdir(os.path.dirname(dst))))
        self.assertIsNone(vmx_get(dst, "checkpoint.vmState"))
        # The destination must not exist yet.
        self.fails_like(r"^Error: ", "-T", "fusion", "clone", self.vmx, dst,
                        "full")

    # -- snapshots

    def test_snapshots(self):
        self.assertEqual(self.ok("-T", "fusion", "listSnapshots", self.vmx),
                         "Total snapshots: 0\n")
        self.ok("-T", "fusion", "snapshot", self.vmx, "a")
        self.ok("-T", "fusion", "snapshot", self.vmx, "b")
        self.ok("-T", "fusion", "snapshot", self.vmx, "c")
        self.assertEqual(self.ok("-T", "fusion", "listSnapshots", self.vmx),
                         "Total snapshots: 3\na\nb\nc\n")
        self.assertEqual(self.ok("-T", "fusion", "listSnapshots", self.vmx,
                                 "showTree"),
                         "Total snapshots: 3\na\n\tb\n\t\tc\n")
        sd = os.path.join(self.vmdir, "tmpl.vmsd")
        self.assertEqual(vmx_get(sd, "snapshot.lastUID"), "3")
        self.assertEqual(vmx_get(sd, "snapshot.numSnapshots"), "3")
        self.assertEqual(vmx_get(sd, "snapshot.current"), "3")
        self.assertEqual(vmx_get(sd, "snapshot1.parent"), "1")
        self.assertEqual(vmx_get(sd, "snapshot0.disk0.fileName"),
                         "disk.vmdk")
        # The current state runs on a delta over the snapshot's disk.
        cur = vmx_get(self.vmx, "scsi0:0.fileName")
        self.assertRegex(cur, r"^disk-\d{6}\.vmdk$")
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.ok("-T", "fusion", "revertToSnapshot", self.vmx, "a")
        self.assertEqual(self.running(), [])
        self.assertEqual(vmx_get(sd, "snapshot.current"), "1")
        self.ok("-T", "fusion", "deleteSnapshot", self.vmx, "b")
        self.assertEqual(self.ok("-T", "fusion", "listSnapshots", self.vmx,
                                 "showTree"),
                         "Total snapshots: 2\na\n\tc\n")
        self.ok("-T", "fusion", "snapshot", self.vmx, "c")
        self.fails("Error: The name does not uniquely identify one "
                   "snapshot\n", "-T", "fusion", "deleteSnapshot", self.vmx,
                   "c")
        self.fails_like(r"^Error: .*does not exist\n$", "-T", "fusion",
                        "revertToSnapshot", self.vmx, "zzz")
        self.ok("-T", "fusion", "deleteSnapshot", self.vmx, "a",
                "andDeleteChildren")
        self.assertEqual(self.ok("-T", "fusion", "listSnapshots", self.vmx),
                         "Total snapshots: 0\n")
        self.assertEqual(vmx_get(sd, "snapshot.numSnapshots"), None)
        self.assertFalse([f for f in os.listdir(self.vmdir)
                          if f.endswith(".vmsn")])
        # Every disk chain is still whole: the VM boots.
        self.ok("-T", "fusion", "start", self.vmx, "nogui")

    # -- variables, deleteVM

    def test_variables(self):
        self.fails(E_NOT_ON, "-T", "fusion", "readVariable", self.vmx,
                   "runtimeConfig", "displayName")
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.assertEqual(self.ok("-T", "fusion", "readVariable", self.vmx,
                                 "runtimeConfig", "displayName"), "tmpl\n")
        self.ok("-T", "fusion", "writeVariable", self.vmx, "guestVar", "k",
                "v 1")
        self.assertEqual(self.ok("-T", "fusion", "readVariable", self.vmx,
                                 "guestVar", "k"), "v 1\n")
        self.fails(E_INVALID, "-T", "fusion", "readVariable", self.vmx,
                   "bogus", "k")
        # Runtime only: gone after a power cycle.
        self.ok("-T", "fusion", "stop", self.vmx, "hard")
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.assertEqual(self.ok("-T", "fusion", "readVariable", self.vmx,
                                 "guestVar", "k"), "\n")

    def test_deletevm(self):
        write(os.path.join(self.vmdir, "infrakit.spec"), "{}")
        write(os.path.join(self.vmdir, "vmware.log"), "log")
        self.ok("-T", "fusion", "snapshot", self.vmx, "s")
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.fails_like(r"^Error: ", "-T", "fusion", "deleteVM", self.vmx)
        self.assertTrue(os.path.exists(self.vmx))
        self.ok("-T", "fusion", "suspend", self.vmx, "hard")
        self.assertEqual(self.ok("-T", "fusion", "deleteVM", self.vmx), "")
        self.assertEqual(os.listdir(self.vmdir), ["infrakit.spec"])
        # With nothing else left the directory goes too.
        other = self.make_vm("vms/o", "o", "00:0c:29:00:00:09")
        self.ok("-T", "fusion", "deleteVM", other)
        self.assertFalse(os.path.exists(os.path.dirname(other)))
        self.fails_like(r"^Error: Cannot open VM: ", "-T", "fusion",
                        "deleteVM", other)

    # -- host types, bad input

    def test_host_types(self):
        player = {"FAKE_VMRUN_PRODUCT": "player"}
        self.fails(E_PLAYER_WS, "-T", "ws", "list", env=player)
        self.fails(E_PLAYER_WS, "list", env=player)
        self.assertEqual(self.ok("-T", "player", "list", env=player),
                         "Total running VMs: 0\n")
        self.ok("-T", "player", "start", self.vmx, "nogui", env=player)
        self.assertEqual(self.ok("-T", "player", "list", env=player),
                         "Total running VMs: 1\n%s\n" % self.vmx)
        ws = {"FAKE_VMRUN_PRODUCT": "ws-pro"}
        self.assertEqual(self.ok("-T", "ws", "list", env=ws).splitlines()[0],
                         "Total running VMs: 1")
        self.ok("-T", "player", "list", env=ws)
        self.fails_like(r"^Unable to connect to host\.\nError: Service type "
                        r"VIX_SERVICEPROVIDER_VMWARE_PLAYER was specified, "
                        r"but not installed\n$", "-T", "player", "list")

    def test_unrecognized(self):
        self.fails("Error: Unrecognized command: bogus\n", "-T", "fusion",
                   "bogus")
        # `vmrun [-T player list]` typed in a shell (packer #4548).
        self.fails("Error: Unrecognized command: [-T\n", "[-T", "player",
                   "list]")
        # All arguments as one string: the whole string is the "command".
        self.fails("Error: Unrecognized command: -T ws list\n",
                   "-T ws list")
        self.fails("Error: Unrecognized command: -T fusion start %s\n"
                   % self.vmx, "-T fusion start %s" % self.vmx)
        # Commands are case-insensitive; guest operations are not emulated.
        self.assertEqual(self.ok("-T", "fusion", "LIST"),
                         "Total running VMs: 0\n")
        self.fails_like(r"^Error: fake-vmrun does not emulate ", "-T",
                        "fusion", "runProgramInGuest", self.vmx, "/bin/true")

    def test_bad_input_never_crashes(self):
        cases = [
            [], ["-T"], ["-T", "fusion"], ["-T", "bogus", "list"],
            ["start"], ["start", "", "nogui"], ["stop"], ["clone"],
            ["clone", self.vmx], ["clone", self.vmx, "/tmp/x.vmx", "full",
                                  "-snapshot"],
            ["clone", self.vmx, "/tmp/x.vmx", "full", "-what=1"],
            ["snapshot", self.vmx], ["snapshot", self.vmx, ""],
            ["readVariable", self.vmx], ["writeVariable", self.vmx, "x"],
            ["getGuestIPAddress", self.vmx, "-nowait"],
            ["listSnapshots", self.vmx, "tree"],
            ["deleteSnapshot", self.vmx, "x", "children"],
            ["start", "/dev/null"], ["start", "/"], ["start", "\x7f\x01"],
            ["list", "extra"],
        ]
        for args in cases:
            rc, out, err = self.call("-T", "fusion", *args) if args and \
                args[0] != "-T" else self.call(*args)
            self.assertEqual((rc, err), (255, ""), "%r: %s" % (args, out))
            self.assertNotIn("Traceback", out, args)
            self.assertTrue(out.strip(), args)
        # Bytes that are not UTF-8.
        p = subprocess.run([sys.executable, FAKE, "-T", "fusion", "start",
                            os.fsdecode(b"/tmp/\xff\xfe.vmx")], env=self.env,
                           capture_output=True, timeout=30)
        self.assertEqual((p.returncode, p.stderr), (255, b""))
        self.assertTrue(p.stdout.startswith(b"Error: Cannot open VM: "))
        # A broken vmx of random bytes.
        junk = os.path.join(self.tmp, "junk.vmx")
        with open(junk, "wb") as f:
            f.write(bytes(range(256)) * 4)
        self.fails_like(r"^Error: Cannot open VM: ", "-T", "fusion", "start",
                        junk)
        # A state directory that cannot be created.
        self.fails_like(r"^Error: ", "-T", "fusion", "list",
                        env={"FAKE_VMRUN_STATE": "/dev/null/state"})
        # Nonsense switch values fall back to defaults.
        self.assertEqual(self.ok("-T", "fusion", "list", env={
            "FAKE_VMRUN_LATENCY": "soon", "FAKE_VMRUN_TOOLS_DELAY": "x"}),
            "Total running VMs: 0\n")

    # -- switches

    def test_hang_is_killable(self):
        p = subprocess.Popen([sys.executable, FAKE, "-T", "fusion", "start",
                              self.vmx, "nogui"],
                             env=dict(self.env, FAKE_VMRUN_HANG_START="1"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        self.procs.append(p)
        with self.assertRaises(subprocess.TimeoutExpired):
            p.wait(timeout=1.0)
        os.killpg(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        self.assertEqual((p.returncode, out, err), (128 + 15, b"", b""))
        self.assertEqual(self.running(), [])  # hung before doing anything
        rec = [r for r in self.log_records() if "start" in r["argv"]]
        self.assertEqual(len(rec), 1)
        self.assertIsNone(rec[0]["exit"])
        self.assertTrue(rec[0]["hang"])
        # Other commands are unaffected.
        self.ok("-T", "fusion", "list", env={"FAKE_VMRUN_HANG_START": "1"})

    def test_hang_after_effect(self):
        p = subprocess.Popen([sys.executable, FAKE, "-T", "fusion", "start",
                              self.vmx, "nogui"],
                             env=dict(self.env, FAKE_VMRUN_HANG_START="after"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        self.procs.append(p)
        with self.assertRaises(subprocess.TimeoutExpired):
            p.wait(timeout=1.0)
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate(timeout=10)
        # The VM came up even though vmrun never returned.
        self.assertEqual(self.running(), [self.vmx])

    def test_latency(self):
        self.ok("-T", "fusion", "list", env={"FAKE_VMRUN_LATENCY_LIST": "0.6"})
        self.ok("-T", "fusion", "list", env={
            "FAKE_VMRUN_LATENCY": "0.4", "FAKE_VMRUN_LATENCY_LIST": "0"})
        self.ok("-T", "fusion", "checkToolsState", self.vmx, env={
            "FAKE_VMRUN_LATENCY": "0.4", "FAKE_VMRUN_LATENCY_LIST": "0"})
        d = [r["duration"] for r in self.log_records()]
        self.assertEqual(len(d), 3)
        self.assertGreaterEqual(d[0], 0.6)
        self.assertLess(d[1], 0.4)
        self.assertGreaterEqual(d[2], 0.4)

    def test_fail_switch(self):
        env = {"FAKE_VMRUN_FAIL_START": "Cannot connect to the virtual machine"}
        self.fails("Error: Cannot connect to the virtual machine\n", "-T",
                   "fusion", "start", self.vmx, "nogui", env=env)
        self.assertEqual(self.running(), [])  # no effect
        self.fails("Unable to connect to host.\nError: The operation is not "
                   "supported for the specified parameters\n", "-T", "fusion",
                   "list", env={"FAKE_VMRUN_FAIL_LIST":
                                "Unable to connect to host.\\nError: The "
                                "operation is not supported for the "
                                "specified parameters"})
        once = {"FAKE_VMRUN_FAIL_STOP": "The operation was canceled",
                "FAKE_VMRUN_FAIL_STOP_TIMES": "1"}
        self.ok("-T", "fusion", "start", self.vmx, "nogui")
        self.fails("Error: The operation was canceled\n", "-T", "fusion",
                   "stop", self.vmx, "hard", env=once)
        self.ok("-T", "fusion", "stop", self.vmx, "hard", env=once)
        self.assertEqual(self.running(), [])

    def test_call_log(self):
        self.ok("-T", "fusion", "list")
        self.fails(E_NOT_ON, "-T", "fusion", "stop", self.vmx, "hard")
        recs = self.log_records()
        self.assertEqual([r["argv"] for r in recs],
                         [["-T", "fusion", "list"],
                          ["-T", "fusion", "stop", self.vmx, "hard"]])
        self.assertEqual([r["exit"] for r in recs], [0, 255])
        for r in recs:
            self.assertIsInstance(r["duration"], float)

    def test_parallel_starts(self):
        vms = [self.make_vm("vms/p%d" % i, "p%d" % i, "00:0c:29:00:01:%02x" % i)
               for i in range(6)]
        results = [None] * len(vms)

        def start(i):
            results[i] = self.call("-T", "fusion", "start", vms[i], "nogui")
        threads = [threading.Thread(target=start, args=(i,))
                   for i in range(len(vms))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [(0, "", "")] * len(vms))
        self.assertEqual(sorted(self.running()), sorted(vms))


if __name__ == "__main__":
    unittest.main(verbosity=2)
