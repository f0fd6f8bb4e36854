#!/usr/bin/env python3
"""The tiny test guest (scripts/mk-tiny.sh) under QEMU: it finds a NoCloud
seed CD, prints its instance-id, sets its hostname, brings up its NICs with
DHCP, serves SSH with the seed's keys, runs its user-data (a plain script,
or the MIME multipart the plugin writes when SSH keys are given), shows a
login prompt on the serial console and powers off on an ACPI power-button
press (QMP system_powerdown).

Layout as the QEMU backend uses it on the `pc` machine: a qcow2 overlay on the
template's tiny.vmdk as the first IDE disk (index 0 = ide0:0), the boot CD
tiny.iso at index 2 (= the VMX's ide1:0), the seed CD at index 3 (ide1:1).
The serial port is a unix socket (so the test can type at the login prompt)
whose output QEMU also writes to a log file.

  0. the template: tiny.vmx names its NIC and SSH user; the guest's
     user-data splitter (scripts/tiny/userdata) on this host's busybox:
     multipart (plain and base64 parts, CRLF, nested, untyped), keys from
     meta-data and cloud-config;
  A. a seed written here: a plain "#!" script, no SSH keys, one e1000 NIC
     with a host port forwarded to 22: instance-id, user-data output,
     "init: done rc=0", the hostname; SSH refuses the test key (no keys
     were given); root logs in on the console without a password;
  B. a seed written by the real plugin (fake vmrun backend) for an instance
     with SSHAuthorizedKeys and an Init (so multipart user-data), two NICs:
     e1000 and virtio-net, each on its own user network with its own
     forwarded port: over SSH through each NIC `cat /etc/hostname` prints
     the LogicalID, the Init ran (its file, /run/infrakit-init.done with
     rc=0 and the instance ID), the host keys match the ones the console
     printed; the console shows a prompt but refuses root (locked).
Each boot ends with system_powerdown, after which QEMU must exit.

Env: TESTS_DIR (tests/, set by meson), PLUGIN_BIN, TINY_VMLIB (template
library, default REPO/vmx so the cached build is reused), TINY_ACCEL=kvm|tcg
(default: kvm when /dev/kvm is usable, else tcg; a KVM that fails to run the
guest falls back to tcg), TINY_KEEP=1 keeps the temporary directory. Python 3
stdlib only (+ harness.py). Needs ssh and ssh-keygen (openssh-client).
Exit 0 pass, 1 fail, 77 skip.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import harness

SKIP = 77
BOOT_TIMEOUT = 150.0      # QEMU start -> "tiny: ready" (TCG, a busy 2-core box)
SSH_TIMEOUT = 60.0        # "tiny: ready" -> SSH answers
CONSOLE_TIMEOUT = 60.0    # a console exchange
POWERDOWN_TIMEOUT = 30.0
INSTANCE_ID = "i-test123"
HOSTNAME_A = "tiny-plain"
LOGICAL_ID_B = "tiny-ssh-b"
FAKE_VMRUN = os.path.join(harness.TESTS_DIR, "fakes", "fake-vmrun")

TESTS_DIR = os.environ.get("TESTS_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.abspath(TESTS_DIR))
VMLIB = os.path.abspath(os.environ.get("TINY_VMLIB") or os.path.join(ROOT, "vmx"))


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print("tinyguest: " + msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# --- QMP ---------------------------------------------------------------------

class QMP:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        greeting = self._read()
        if "QMP" not in greeting:
            raise Fail("unexpected QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise Fail("QMP %s: %s" % (name, reply["error"]))
            return reply.get("return")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def qmp_connect(path, deadline):
    last = None
    while time.monotonic() < deadline:
        try:
            return QMP(path)
        except (OSError, ValueError) as e:
            last = e
            time.sleep(0.1)
    raise Fail("cannot connect to QMP at %s: %s" % (path, last))


# --- processes ---------------------------------------------------------------

def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemonized QEMU is not our child; a zombie of it cannot exist here,
    # but guard against PID reuse where /proc tells us.
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                return False
    except OSError:
        pass
    return True


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def is_our_qemu(pid, marker):
    """True unless /proc shows that PID is some other process."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return marker.encode() in f.read()
    except FileNotFoundError:
        return os.path.isdir("/proc/self") is False
    except OSError:
        return True


def kill_qemu(pidfile, marker):
    pid = read_pid(pidfile)
    if pid is None or not pid_alive(pid) or not is_our_qemu(pid, marker):
        return
    log("killing QEMU pid %d" % pid)
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if not pid_alive(pid):
                return
            time.sleep(0.1)


def wait_gone(pid, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def run(argv, timeout, **kw):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Fail("timed out after %d s: %s" % (timeout, " ".join(argv)))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")
    except OSError:
        return ""


# --- the template --------------------------------------------------------------

def build_template():
    script = os.path.join(ROOT, "scripts", "mk-tiny.sh")
    log("running scripts/mk-tiny.sh %s" % VMLIB)
    t0 = time.monotonic()
    r = run(["sh", script, VMLIB], timeout=420)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        if "could not download" in r.stdout or "cannot resolve" in r.stdout:
            raise Skip("mk-tiny.sh could not fetch the kernel or packages (offline?)")
        raise Fail("mk-tiny.sh exited %d" % r.returncode)
    log("mk-tiny.sh took %.1f s" % (time.monotonic() - t0))
    bundle = os.path.join(VMLIB, "tiny.vmwarevm")
    for name in ("tiny.iso", "tiny.vmx", "tiny.vmdk", "tiny.buildinfo"):
        if not os.path.isfile(os.path.join(bundle, name)):
            raise Fail("mk-tiny.sh did not make %s" % os.path.join(bundle, name))
    with open(os.path.join(bundle, "tiny.vmx"), encoding="utf-8") as f:
        vmx = f.read()
    if not vmx.startswith('.encoding = "UTF-8"\n'):
        raise Fail("tiny.vmx does not start with .encoding")
    for key in ('ide1:0.fileName = "tiny.iso"', 'scsi0:0.fileName = "tiny.vmdk"',
                'memsize = "256"', 'guestOS = "other5xlinux-64"',
                # the default kernel has the e1000 driver: the NIC QEMU's
                # backend and VMware default to
                'ethernet0.virtualDev = "e1000"',
                # the user the plugin's SSH defaults to
                'guestinfo.infrakit.ssh-user = "root"'):
        if key not in vmx:
            raise Fail("tiny.vmx lacks %s" % key)
    info = {}
    for line in read_text(os.path.join(bundle, "tiny.buildinfo")).splitlines():
        k, _, v = line.partition("=")
        info[k] = v
    check(info.get("ssh_user") == "root", "tiny.buildinfo: ssh_user %r" % info.get("ssh_user"))
    check(info.get("nic") == "e1000", "tiny.buildinfo: nic %r" % info.get("nic"))
    check(re.search(r"(^| )dropbear-bin_\S+\.deb( |$)", info.get("debs", "")) is not None,
          "tiny.buildinfo names no dropbear-bin .deb: %r" % info.get("debs"))
    for m in ("e1000", "virtio_net", "virtio_pci"):
        check(m in info.get("modules", "").split(), "tiny.buildinfo: module %s not loaded" % m)
    return bundle, info


# --- 0. the user-data splitter, on this host's busybox ------------------------------

KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdRl1Ew+Q0wY1bq8pNfM3kL2mXcU7oFvZs9hYtJ4rAb alice@laptop"
KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob \"quoted\" \\ back"


def jq(s):
    return json.dumps(s, ensure_ascii=False)


def host_checks(busybox, tmp):
    lib = os.path.join(ROOT, "scripts", "tiny")
    env = dict(os.environ, TINY_LIB=lib)
    n = [0]

    def split(data):
        n[0] += 1
        d = os.path.join(tmp, "split-%d" % n[0])
        os.makedirs(d)
        ud = os.path.join(d, "user-data")
        with open(ud, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        out = os.path.join(d, "out")
        r = run([busybox, "sh", os.path.join(lib, "userdata"), "split", ud, out], timeout=60, env=env)
        check(r.returncode == 0, "userdata split exited %d:\n%s" % (r.returncode, r.stdout))
        scripts = read_text(os.path.join(out, "scripts")).splitlines()
        bodies = []
        for s_ in scripts:
            with open(s_, "rb") as f:
                bodies.append(f.read())
        return r.stdout, bodies, read_text(os.path.join(out, "keys")).splitlines(), out

    # What cloudinit.c writes with SSH keys (cloudinit.h): the keys'
    # cloud-config, then the Init as a 7bit text/x-shellscript part.
    b = "==ikvf-boundary-0=="
    cc = "#cloud-config\nssh_authorized_keys:\n  - %s\n  - %s\n" % (jq(KEY1), jq(KEY2))
    mp = ('Content-Type: multipart/mixed; boundary="%s"\nMIME-Version: 1.0\n\n'
          "--%s\nContent-Type: text/cloud-config; charset=\"utf-8\"\nMIME-Version: 1.0\n"
          "Content-Transfer-Encoding: 7bit\n"
          "Content-Disposition: attachment; filename=\"ssh-authorized-keys.cfg\"\n\n%s\n"
          "--%s\nContent-Type: text/x-shellscript; charset=\"utf-8\"\nMIME-Version: 1.0\n"
          "Content-Transfer-Encoding: 7bit\n"
          "Content-Disposition: attachment; filename=\"infrakit-init\"\n\n"
          "#!/bin/sh\necho one\n\n--%s--\n") % (b, b, cc, b, b)
    out, bodies, keys, _ = split(mp)
    check(bodies == [b"#!/bin/sh\necho one\n"], "multipart: scripts %r\n%s" % (bodies, out))
    check(keys == [KEY1, KEY2], "multipart: keys %r" % keys)
    check('part 2 text/x-shellscript "infrakit-init": shell script' in out, out)

    # base64 bodies, CRLF line ends, an unquoted boundary, a nested
    # multipart with an untyped part, a part tiny does not handle.
    inner = ("Content-Type: multipart/alternative; boundary=in\n\n"
             "preamble\n--in\n\n#!/bin/sh\necho untyped\n--in\n"
             "Content-Type: text/x-include-url\n\nhttp://example.invalid/x\n--in--\nepilogue\n")
    b64 = base64.encodebytes("#!/bin/sh\necho \u00fcber\n".encode()).decode()
    mp2 = ("MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=outer\n\n"
           "--outer\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n"
           + b64 + "--outer\n" + inner + "--outer--\n").replace("\n", "\r\n")
    out, bodies, keys, _ = split(mp2)
    check(bodies == ["#!/bin/sh\necho \u00fcber\n".encode(), b"#!/bin/sh\necho untyped"],
          "nested multipart: scripts %r\n%s" % (bodies, out))
    check(keys == [] and "not a script or cloud-config" in out, "nested multipart:\n" + out)

    # A plain #cloud-config: keys (plain and 'single-quoted'), no script.
    out, bodies, keys, _ = split("#cloud-config\nhostname: x\nssh_authorized_keys:\n"
                                 "- ssh-ed25519 AAAA plain@host\n  - 'ssh-rsa BBBB it''s'\n"
                                 "users: []\n")
    check(bodies == [] and keys == ["ssh-ed25519 AAAA plain@host", "ssh-rsa BBBB it's"],
          "cloud-config: scripts %r keys %r\n%s" % (bodies, keys, out))

    # Running: every script in order, the first failure's status.
    out, bodies, keys, d = split(
        ('Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/x-shellscript\n\n'
         "#!/bin/sh\necho first; exit 3\n--b\nContent-Type: text/x-shellscript\n\n"
         "#!/bin/sh\necho second\n--b--\n"))
    r = run([busybox, "sh", os.path.join(lib, "userdata"), "run", d, os.path.join(tmp, "run.log")],
            timeout=60, env=env)
    check(r.returncode == 3, "userdata run exited %d, not 3:\n%s" % (r.returncode, r.stdout))
    want = ("=== user-data begin ===\nfirst\n=== user-data end (exit 3) ===\n"
            "=== user-data begin ===\nsecond\n=== user-data end (exit 0) ===\n")
    check(r.stdout == want, "userdata run printed %r" % r.stdout)
    check(read_text(os.path.join(tmp, "run.log")) == want, "userdata run's log differs")

    # meta-data as cloudinit.c writes it: each key once.
    md = os.path.join(tmp, "meta-data")
    with open(md, "w") as f:
        f.write('instance-id: "i-1"\nlocal-hostname: "h"\npublic-keys-data: %s\n'
                "public-keys:\n  - %s\n  - %s\ninfrakit:\n  logical-id: \"x\"\n"
                % (jq(KEY1 + "\n" + KEY2), jq(KEY1), jq(KEY2)))
    r = run([busybox, "awk", "-v", "keys=public-keys public-keys-data", "-f",
             os.path.join(lib, "keys.awk"), md], timeout=30)
    check(r.returncode == 0 and r.stdout.splitlines() == [KEY1, KEY2],
          "keys.awk on meta-data: %r" % r.stdout)
    log("user-data splitter and key reader: ok")


# --- a guest --------------------------------------------------------------------

class Guest:
    """One QEMU of the tiny template. nics: [(model, net)], each with a host
    port forwarded to the guest's port 22 (self.ports, in the same order)."""

    def __init__(self, qemu, accel, bundle, seed, tmp, name, nics):
        self.qemu, self.accel, self.bundle, self.seed = qemu, accel, bundle, seed
        self.tmp, self.name, self.nics = tmp, name, nics
        self.logf = os.path.join(tmp, "serial-%s.log" % name)
        self.con = os.path.join(tmp, "con-%s.sock" % name)
        self.sock = os.path.join(tmp, "qmp-%s.sock" % name)
        self.pidfile = os.path.join(tmp, "qemu-%s.pid" % name)
        self.disk = os.path.join(tmp, "overlay-%s.qcow2" % name)
        self.pid = None
        self.qmp = None
        self.ports = []

    def argv(self):
        accel = ["-accel", "kvm", "-accel", "tcg"] if self.accel == "kvm" else ["-accel", "tcg"]
        # -daemonize changes directory to /: every path is absolute.
        a = [self.qemu] + accel + [
            "-machine", "pc", "-m", "256", "-smp", "1",
            "-display", "none", "-no-user-config", "-nodefaults",
            "-chardev", "socket,id=con0,path=%s,server=on,wait=off,logfile=%s"
            % (self.con, self.logf),
            "-serial", "chardev:con0",
            "-drive", "file=%s,format=qcow2,if=ide,index=0,media=disk" % self.disk,
            "-drive", "file=%s,format=raw,if=ide,index=2,media=cdrom,readonly=on"
            % os.path.join(self.bundle, "tiny.iso"),
            "-drive", "file=%s,format=raw,if=ide,index=3,media=cdrom,readonly=on" % self.seed,
            "-boot", "d",
            "-qmp", "unix:%s,server,nowait" % self.sock,
            "-daemonize", "-pidfile", self.pidfile,
        ]
        for (model, net), port in zip(self.nics, self.ports):
            a += ["-nic", "user,model=%s,net=%s,hostfwd=tcp:127.0.0.1:%d-:22" % (model, net, port)]
        return a

    def start(self):
        r = run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "vmdk", "-b",
                 os.path.join(self.bundle, "tiny.vmdk"), self.disk], timeout=30)
        if r.returncode != 0:
            sys.stdout.write(r.stdout)
            raise Fail("qemu-img could not make a qcow2 overlay on tiny.vmdk")
        for attempt in range(3):
            # A port another process takes between free_port() and QEMU's
            # bind makes QEMU fail: pick others and retry.
            self.ports = [free_port() for _ in self.nics]
            argv = self.argv()
            log("starting %s: %s" % (self.name, " ".join(argv)))
            self.t0 = time.monotonic()
            r = run(argv, timeout=30)
            if r.returncode == 0:
                break
            sys.stdout.write(r.stdout)
            if "hostfwd" not in r.stdout and "forwarding" not in r.stdout:
                raise Fail("qemu-system-x86_64 exited %d" % r.returncode)
        else:
            raise Fail("QEMU could not bind a forwarded port three times")
        self.pid = read_pid(self.pidfile)
        if self.pid is None:
            raise Fail("QEMU wrote no pidfile")
        self.qmp = qmp_connect(self.sock, time.monotonic() + 10)

    def text(self):
        return read_text(self.logf)

    def wait_for(self, pattern, timeout, what):
        """Polls the serial log for the regex (multiline); returns the match.
        Returns None when KVM stopped the guest with an internal error."""
        end = time.monotonic() + timeout
        last_status = 0.0
        while True:
            m = re.search(pattern, self.text(), re.M)
            if m:
                return m
            now = time.monotonic()
            if not pid_alive(self.pid):
                raise Fail("QEMU (%s) exited while waiting for %s; serial log:\n%s"
                           % (self.name, what, self.text()))
            if self.accel == "kvm" and now - last_status > 1.0:
                last_status = now
                st = self.qmp.cmd("query-status")
                if st and st.get("status") == "internal-error":
                    return None
            if now > end:
                raise Fail("%s: no %s after %d s; serial log:\n%s"
                           % (self.name, what, timeout, self.text()))
            time.sleep(0.1)

    def powerdown(self):
        t0 = time.monotonic()
        self.qmp.cmd("system_powerdown")
        if wait_gone(self.pid, POWERDOWN_TIMEOUT):
            log("%s: QEMU exited %.1f s after system_powerdown" % (self.name, time.monotonic() - t0))
            return True
        log("%s: QEMU still running %d s after system_powerdown: sending quit"
            % (self.name, POWERDOWN_TIMEOUT))
        try:
            self.qmp.cmd("quit")
        except (OSError, ValueError):
            pass  # QEMU 7.2 resets the socket after answering quit
        wait_gone(self.pid, 10)
        return False

    def kill(self):
        if self.qmp is not None:
            self.qmp.close()
        kill_qemu(self.pidfile, self.tmp)


def boot(ctx, seed, name, nics):
    """Starts a guest and waits for "tiny: ready"; a KVM that cannot run the
    guest makes this (and every later boot) use TCG."""
    g = Guest(ctx["qemu"], ctx["accel"], ctx["bundle"], seed, ctx["tmp"], name, nics)
    ctx["guests"].append(g)  # killed by main's finally, whatever happens
    g.start()
    m = g.wait_for(r"^tiny: (ready|no cidata seed found)$", BOOT_TIMEOUT, "'tiny: ready'")
    if m is None:
        log("KVM stopped the guest with an internal error (query-status "
            "'internal-error'): /dev/kvm is not usable here, retrying with TCG")
        g.kill()
        ctx["accel"] = "tcg"
        return boot(ctx, seed, name + "-tcg", nics)
    g.t_ready = time.monotonic() - g.t0
    return g


# --- SSH and the console --------------------------------------------------------

def ssh(port, key, cmd, known_hosts=None, timeout=30):
    argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-i", key,
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR"]
    if known_hosts:
        argv += ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts]
    else:
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return run(argv + ["root@127.0.0.1", cmd], timeout=timeout)


def ssh_wait(g, port, key):
    """Retries until SSH runs a command; returns the seconds since QEMU started."""
    end = time.monotonic() + SSH_TIMEOUT
    while True:
        r = ssh(port, key, "true", timeout=20)
        if r.returncode == 0:
            return time.monotonic() - g.t0
        if time.monotonic() > end:
            raise Fail("%s: SSH on port %d does not answer: %s\nserial log:\n%s"
                       % (g.name, port, r.stdout.strip(), g.text()))
        time.sleep(1)


class Console:
    """The guest's serial port (QEMU's unix socket chardev)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(0.2)
        self.s.connect(path)
        self.buf = ""

    def send(self, text):
        self.s.sendall(text.encode())

    def expect(self, pattern, timeout):
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if time.monotonic() > end:
                raise Fail("console: no %r within %d s; got %r" % (pattern, timeout, self.buf[-2000:]))
            try:
                chunk = self.s.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                raise Fail("console socket closed; got %r" % self.buf[-2000:])
            self.buf += chunk.decode("utf-8", "replace").replace("\r", "")

    def close(self):
        self.s.close()


def wait_prompt(g):
    """The login prompt getty prints after "tiny: ready"."""
    m = g.wait_for(r"^tiny: ready$(?s:.*)^(\S+) login: ", CONSOLE_TIMEOUT, "login prompt")
    check(m is not None, "KVM failed after the boot")
    return m.group(1)


def host_keys(text):
    m = re.search(r"^-----BEGIN SSH HOST KEY KEYS-----\n(.*?)^-----END SSH HOST KEY KEYS-----$",
                  text, re.M | re.S)
    check(m is not None, "no host keys on the console:\n" + text)
    keys = [l.split()[:2] for l in m.group(1).splitlines() if l.strip()]
    check(sorted(k[0] for k in keys) == ["ecdsa-sha2-nistp256", "ssh-ed25519"],
          "host keys on the console: %r" % keys)
    return keys


def common_checks(text, iid, hostname):
    ids = re.findall(r"^instance-id: (.*?)$", text, re.M)
    check(ids == [iid], "expected exactly one line 'instance-id: %s', got %r" % (iid, ids))
    check(re.search(r"^hostname: %s$" % re.escape(hostname), text, re.M) is not None,
          "no 'hostname: %s' line" % hostname)
    check(re.search(r"^net: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2", text, re.M) is not None,
          "eth0 got no DHCP lease")
    check(re.search(r"^ssh: ready on port 22$", text, re.M) is not None, "no 'ssh: ready on port 22'")
    m = re.findall(r"^init: done rc=(\d+)$", text, re.M)
    check(m == ["0"], "init: done lines %r" % m)
    # The order of the boot sequence.
    order = [text.find(s) for s in ("\ninstance-id: ", "\nssh: ready on port 22",
                                    "\n=== user-data begin ===", "\ninit: done rc=", "\ntiny: ready")]
    check(-1 not in order and order == sorted(order), "boot sequence out of order: %r" % order)


# --- A: plain script, no keys ----------------------------------------------------------

def make_seed_a(tmp):
    d = os.path.join(tmp, "seed-a")
    os.makedirs(d)
    with open(os.path.join(d, "meta-data"), "w") as f:
        f.write('instance-id: "%s"\nlocal-hostname: "%s"\n' % (INSTANCE_ID, HOSTNAME_A))
    with open(os.path.join(d, "user-data"), "w") as f:
        f.write("#!/bin/sh\necho hello-from-user-data $(cat /proc/cmdline | wc -c)\n")
    r = run(["xorriso", "-as", "mkisofs", "-V", "cidata", "-J", "-r",
             "-o", "seed.iso", "user-data", "meta-data"], timeout=60, cwd=d)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        raise Fail("xorriso could not make the seed ISO")
    return os.path.join(d, "seed.iso")


def scenario_a(ctx, key):
    g = boot(ctx, make_seed_a(ctx["tmp"]), "a", [("e1000", "10.0.2.0/24")])
    text = g.text()
    m = re.search(r"^=== user-data begin ===\n(.*?)^=== user-data end \(exit (\d+)\) ===",
                  text, re.M | re.S)
    if not m or m.group(2) != "0" or not re.search(r"^hello-from-user-data [1-9][0-9]*$",
                                                   m.group(1), re.M):
        raise Fail("user-data did not run as expected (%s); serial log:\n%s"
                   % ("output %r" % (m.groups(),) if m else "no markers", text))
    common_checks(text, INSTANCE_ID, HOSTNAME_A)
    check("ssh: no authorized keys" in text, "A: keys reported:\n" + text)
    log("A: QEMU start -> 'tiny: ready' %.1f s [%s]" % (g.t_ready, g.accel))

    # No key was given: SSH refuses the test's key.
    r = ssh(g.ports[0], key, "true")
    check(r.returncode == 255 and "Permission denied" in r.stdout,
          "A: SSH without authorized keys: exit %d: %s" % (r.returncode, r.stdout))

    # The console: root without a password.
    check(wait_prompt(g) == HOSTNAME_A, "A: the login prompt does not show the hostname")
    c = Console(g.con)
    try:
        c.send("root\r")
        c.expect(r"/root # ", CONSOLE_TIMEOUT)  # busybox ash, as root
        c.send("echo console-$(cat /etc/hostname)-$((6*7))\r")
        c.expect(r"\nconsole-%s-42\n" % re.escape(HOSTNAME_A), CONSOLE_TIMEOUT)
        c.send("exit\r")
    finally:
        c.close()
    log("A: console login as root without a password: ok")
    check(g.powerdown(), "A: the guest did not power off on system_powerdown")


# --- B: the plugin's seed with SSH keys, two NICs ------------------------------------------

def plugin_seed(tmp, pubkey):
    """A seed.iso the real plugin writes (vmware backend on fake vmrun) for
    an instance with SSHAuthorizedKeys, an Init and a LogicalID."""
    base = os.path.join(tmp, "plugin")
    p = harness.Plugin(base, binary=harness.PLUGIN_BIN, backend="vmware",
                       args=["--vmrun", FAKE_VMRUN, "--clone", "copy", "--guest-key", "none"],
                       env={"FAKE_VMRUN_STATE": os.path.join(base, "fake-state")})
    harness.make_template(p.vm_lib, "alpine")
    p.start()
    c = p.client()
    try:
        init = "echo init-ran-$((6*7))\necho from-init >/root/init-was-here\n"
        iid = c.provision({"VMX": "alpine", "SSHAuthorizedKeys": [pubkey]}, init=init,
                          logical_id=LOGICAL_ID_B)["ID"]

        def state():
            for d in c.describe(props=True, all_=True):
                if d["ID"] == iid:
                    return d["Properties"].get("State")
            return None
        st = harness.wait_until(lambda: state() in ("running", "failed") and state(),
                                timeout=60, what="%s running" % iid)
        check(st == "running", "the plugin could not provision %s:\n%s" % (iid, p.log()[-4000:]))
        seed = os.path.join(tmp, "seed-b.iso")
        shutil.copy(os.path.join(p.bundle(iid), "seed.iso"), seed)
    finally:
        c.close()
        try:
            p.stop()
        except AssertionError as e:
            raise Fail(str(e))
    return seed, iid


def scenario_b(ctx, key, pubkey):
    seed, iid = plugin_seed(ctx["tmp"], pubkey)
    log("B: seed.iso of plugin instance %s" % iid)
    g = boot(ctx, seed, "b", [("e1000", "10.0.2.0/24"), ("virtio-net-pci", "10.0.3.0/24")])
    text = g.text()
    t_ssh = ssh_wait(g, g.ports[0], key)
    common_checks(text, iid, LOGICAL_ID_B)
    # The multipart user-data: the keys' cloud-config and the Init.
    for want in ('user-data: part 1 text/cloud-config "ssh-authorized-keys.cfg": cloud-config, '
                 "1 ssh_authorized_keys",
                 'user-data: part 2 text/x-shellscript "infrakit-init": shell script',
                 "ssh: 1 authorized key(s) for root"):
        check(want in text, "B: no %r on the console:\n%s" % (want, text))
    check(re.search(r"^=== user-data begin ===\ninit-ran-42\n=== user-data end \(exit 0\) ===$",
                    text, re.M) is not None, "B: the Init's output is missing:\n" + text)
    check(re.search(r"^net: eth1 10\.0\.3\.15/24 via 10\.0\.3\.2", text, re.M) is not None,
          "B: eth1 (virtio-net) got no DHCP lease:\n" + text)
    log("B: QEMU start -> 'tiny: ready' %.1f s, -> SSH answered %.1f s [%s]"
        % (g.t_ready, t_ssh, g.accel))

    # The command the plugin's users will run, through each NIC.
    for port, nic in zip(g.ports, ("e1000", "virtio-net")):
        r = ssh(port, key, "cat /etc/hostname")
        check(r.returncode == 0 and r.stdout == LOGICAL_ID_B + "\n",
              "B: ssh via %s: exit %d, %r" % (nic, r.returncode, r.stdout))
    r = ssh(g.ports[1], key,
            "cat /run/infrakit-init.done /root/init-was-here; "
            "for d in /sys/class/net/eth*; do n=${d##*/}; "
            "echo $n $(basename $(readlink $d/device/driver)) "
            "$(ip -4 -o addr show dev $n | awk '{ print $4 }'); done")
    check(r.returncode == 0, "B: ssh via virtio-net: %s" % r.stdout)
    lines = r.stdout.splitlines()
    check(lines[:3] == ["rc=0", "instance-id=" + iid, "from-init"],
          "B: readiness marker / Init result: %r" % lines[:3])
    check(sorted(lines[3:]) == ["eth0 e1000 10.0.2.15/24", "eth1 virtio_net 10.0.3.15/24"],
          "B: NICs: %r" % lines[3:])
    # The host keys the console printed are the ones SSH presents.
    kh = os.path.join(ctx["tmp"], "known_hosts")
    with open(kh, "w") as f:
        for port in g.ports:
            for t, k in host_keys(text):
                f.write("[127.0.0.1]:%d %s %s\n" % (port, t, k))
    for port in g.ports:
        r = ssh(port, key, "echo pinned", known_hosts=kh)
        check(r.returncode == 0 and r.stdout == "pinned\n",
              "B: SSH with the console's host keys pinned: %s" % r.stdout)
    log("B: SSH through e1000 and virtio-net, host keys as printed: ok")

    # Keys were given: the console prompts, but root's password is locked.
    check(wait_prompt(g) == LOGICAL_ID_B, "B: the login prompt does not show the hostname")
    c = Console(g.con)
    try:
        # busybox login does not even ask for a locked password.
        c.send("root\r")
        m = c.expect(r"(?s)^(.*?)Login incorrect\n(.*?)login: ", CONSOLE_TIMEOUT)
        check("#" not in m.group(1) + m.group(2), "B: a shell on the console: %r" % m.group(0))
    finally:
        c.close()
    log("B: console refuses root (SSH keys given): ok")
    check(g.powerdown(), "B: the guest did not power off on system_powerdown")


def main():
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise Skip("qemu-system-x86_64 not installed (scripts/deps.sh run)")
    for tool, pkg in (("xorriso", "xorriso"), ("qemu-img", "qemu-utils"),
                      ("ssh", "openssh-client"), ("ssh-keygen", "openssh-client")):
        if not shutil.which(tool):
            raise Skip("%s not installed (%s: scripts/deps.sh test)" % (tool, pkg))
    if not os.access(harness.PLUGIN_BIN, os.X_OK):
        raise Fail("no plugin binary at %s (PLUGIN_BIN)" % harness.PLUGIN_BIN)

    bundle, info = build_template()
    tmp = tempfile.mkdtemp(prefix="tinyguest.")
    ctx = {"qemu": qemu, "bundle": bundle, "tmp": tmp, "guests": [],
           "accel": os.environ.get("TINY_ACCEL") or ("kvm" if kvm_usable() else "tcg")}
    try:
        busybox = info.get("busybox") or shutil.which("busybox")
        check(busybox and os.access(busybox, os.X_OK), "no busybox (%r)" % busybox)
        host_checks(busybox, tmp)

        key = os.path.join(tmp, "id_ed25519")
        r = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tinyguest-test",
                 "-f", key], timeout=30)
        check(r.returncode == 0, "ssh-keygen: " + r.stdout)
        with open(key + ".pub") as f:
            pubkey = f.read().strip()

        scenario_a(ctx, key)
        scenario_b(ctx, key, pubkey)
        return 0
    finally:
        for g in ctx["guests"]:
            g.kill()
        if os.environ.get("TINY_KEEP"):
            log("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    t_start = time.monotonic()
    try:
        rc = main()
        log("PASS (%.0f s)" % (time.monotonic() - t_start))
    except Skip as e:
        log("SKIP: %s" % e)
        rc = SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        rc = 1
    except Exception as e:  # noqa: BLE001 - report anything as a failure
        log("FAIL: unexpected %s: %s" % (type(e).__name__, e))
        rc = 1
    sys.exit(rc)
