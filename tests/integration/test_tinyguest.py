#!/usr/bin/env python3
"""The tiny test guest (scripts/mk-tiny.sh) boots under QEMU, finds a NoCloud
seed CD, prints its instance-id, runs its user-data script and powers off on
an ACPI power-button press (QMP system_powerdown).

Layout as the QEMU backend uses it on the `pc` machine: a qcow2 overlay on the
template's tiny.vmdk as the first IDE disk (index 0 = ide0:0), the boot CD
tiny.iso at index 2 (= the VMX's ide1:0), the seed CD at index 3 (ide1:1).

Env: TESTS_DIR (tests/, set by meson), TINY_VMLIB (template library, default
REPO/vmx so the cached build is reused), TINY_ACCEL=kvm|tcg (default: kvm when
/dev/kvm is usable, else tcg; a KVM that fails to run the guest falls back to
tcg). Python 3 stdlib only. Exit 0 pass, 1 fail, 77 skip.
"""

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

SKIP = 77
BOOT_TIMEOUT = 120.0
POWERDOWN_TIMEOUT = 30.0
INSTANCE_ID = "i-test123"

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


# --- the test ----------------------------------------------------------------

def build_template():
    script = os.path.join(ROOT, "scripts", "mk-tiny.sh")
    log("running scripts/mk-tiny.sh %s" % VMLIB)
    t0 = time.monotonic()
    r = run(["sh", script, VMLIB], timeout=420)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        if "could not download" in r.stdout or "cannot resolve" in r.stdout:
            raise Skip("mk-tiny.sh could not fetch the kernel (offline?)")
        raise Fail("mk-tiny.sh exited %d" % r.returncode)
    log("mk-tiny.sh took %.1f s" % (time.monotonic() - t0))
    bundle = os.path.join(VMLIB, "tiny.vmwarevm")
    for name in ("tiny.iso", "tiny.vmx", "tiny.vmdk"):
        if not os.path.isfile(os.path.join(bundle, name)):
            raise Fail("mk-tiny.sh did not make %s" % os.path.join(bundle, name))
    with open(os.path.join(bundle, "tiny.vmx"), encoding="utf-8") as f:
        vmx = f.read()
    if not vmx.startswith('.encoding = "UTF-8"\n'):
        raise Fail("tiny.vmx does not start with .encoding")
    for key in ('ide1:0.fileName = "tiny.iso"', 'scsi0:0.fileName = "tiny.vmdk"',
                'memsize = "256"', 'guestOS = "other5xlinux-64"'):
        if key not in vmx:
            raise Fail("tiny.vmx lacks %s" % key)
    return bundle


def make_seed(tmp):
    with open(os.path.join(tmp, "meta-data"), "w") as f:
        f.write('instance-id: "%s"\nlocal-hostname: "tiny"\n' % INSTANCE_ID)
    with open(os.path.join(tmp, "user-data"), "w") as f:
        f.write("#!/bin/sh\necho hello-from-user-data $(cat /proc/cmdline | wc -c)\n")
    r = run(["xorriso", "-as", "mkisofs", "-V", "cidata", "-J", "-r",
             "-o", "seed.iso", "user-data", "meta-data"], timeout=60, cwd=tmp)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        raise Fail("xorriso could not make the seed ISO")
    return os.path.join(tmp, "seed.iso")


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def check_log(text):
    """Returns (instance_id_seen, user_data_ok, detail)."""
    ids = re.findall(r"^instance-id: (.*?)\r?$", text, re.M)
    m = re.search(r"^=== user-data begin ===\r?\n(.*?)^=== user-data end \(exit (\d+)\) ===",
                  text, re.M | re.S)
    ud_ok = False
    detail = ""
    if m:
        body = m.group(1)
        ud_ok = (m.group(2) == "0" and
                 re.search(r"^hello-from-user-data [1-9][0-9]*\r?$", body, re.M) is not None)
        detail = "user-data output %r, exit %s" % (body, m.group(2))
    return ids, ud_ok, detail


def boot(qemu, accel, bundle, seed, tmp, attempt, states):
    logf = os.path.join(tmp, "serial-%s.log" % attempt)
    sock = os.path.join(tmp, "qmp-%s.sock" % attempt)
    pidfile = os.path.join(tmp, "qemu-%s.pid" % attempt)
    disk = os.path.join(tmp, "overlay.qcow2")
    accel_args = ["-accel", "kvm", "-accel", "tcg"] if accel == "kvm" else ["-accel", "tcg"]
    # -daemonize changes directory to /: every path is absolute.
    argv = [qemu] + accel_args + [
        "-machine", "pc", "-m", "256", "-smp", "1",
        "-display", "none", "-no-user-config", "-nodefaults",
        "-serial", "file:" + logf,
        "-drive", "file=%s,format=qcow2,if=ide,index=0,media=disk" % disk,
        "-drive", "file=%s,format=raw,if=ide,index=2,media=cdrom,readonly=on"
        % os.path.join(bundle, "tiny.iso"),
        "-drive", "file=%s,format=raw,if=ide,index=3,media=cdrom,readonly=on" % seed,
        "-boot", "d",
        "-qmp", "unix:%s,server,nowait" % sock,
        "-daemonize", "-pidfile", pidfile,
    ]
    log("starting: " + " ".join(argv))
    t0 = time.monotonic()
    state = {"pidfile": pidfile, "log": logf, "sock": sock}
    states.append(state)  # killed by the caller's finally, whatever happens
    r = run(argv, timeout=30)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        raise Fail("qemu-system-x86_64 exited %d" % r.returncode)
    pid = read_pid(pidfile)
    if pid is None:
        raise Fail("QEMU wrote no pidfile")
    state["pid"] = pid
    qmp = qmp_connect(sock, time.monotonic() + 10)
    state["qmp"] = qmp

    boot_time = None
    last_status = 0.0
    text = ""
    while True:
        now = time.monotonic()
        try:
            with open(logf, errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        ids, ud_ok, _ = check_log(text)
        if ids and boot_time is None:
            boot_time = now - t0
        if boot_time is not None and re.search(r"^=== user-data end ", text, re.M):
            break
        if "tiny: no cidata seed found" in text or "tiny: ready" in text:
            break
        if not pid_alive(pid):
            raise Fail("QEMU exited during boot")
        if accel == "kvm" and now - last_status > 1.0:
            last_status = now
            st = qmp.cmd("query-status")
            if st and st.get("status") == "internal-error":
                return state, None, "kvm-internal-error"
        if now - t0 > BOOT_TIMEOUT:
            break
        time.sleep(0.1)
    state["text"] = text
    return state, boot_time, None


def powerdown(state):
    pid, qmp = state["pid"], state["qmp"]
    t0 = time.monotonic()
    qmp.cmd("system_powerdown")
    if wait_gone(pid, POWERDOWN_TIMEOUT):
        log("QEMU exited %.1f s after system_powerdown" % (time.monotonic() - t0))
        return True
    log("QEMU still running %d s after system_powerdown: sending quit" % POWERDOWN_TIMEOUT)
    try:
        qmp.cmd("quit")
    except (OSError, ValueError):
        pass  # QEMU 7.2 resets the socket after answering quit
    wait_gone(pid, 10)
    return False


def main():
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise Skip("qemu-system-x86_64 not installed (scripts/deps.sh run)")
    for tool in ("xorriso", "qemu-img"):
        if not shutil.which(tool):
            raise Skip("%s not installed (scripts/deps.sh run)" % tool)

    bundle = build_template()
    tmp = tempfile.mkdtemp(prefix="tinyguest.")
    states = []
    try:
        seed = make_seed(tmp)
        r = run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "vmdk", "-b",
                 os.path.join(bundle, "tiny.vmdk"), os.path.join(tmp, "overlay.qcow2")],
                timeout=30)
        if r.returncode != 0:
            sys.stdout.write(r.stdout)
            raise Fail("qemu-img could not make a qcow2 overlay on tiny.vmdk")

        accel = os.environ.get("TINY_ACCEL") or ("kvm" if kvm_usable() else "tcg")
        state, boot_time, why = boot(qemu, accel, bundle, seed, tmp, accel, states)
        if why == "kvm-internal-error":
            log("KVM stopped the guest with an internal error (query-status "
                "'internal-error'): /dev/kvm is not usable here, retrying with TCG")
            state["qmp"].close()
            kill_qemu(state["pidfile"], tmp)
            accel = "tcg"
            state, boot_time, why = boot(qemu, accel, bundle, seed, tmp, accel, states)

        text = state["text"]
        ids, ud_ok, detail = check_log(text)
        problems = []
        if ids != [INSTANCE_ID]:
            problems.append("expected exactly one line 'instance-id: %s', got %r"
                            % (INSTANCE_ID, ids))
        if not ud_ok:
            problems.append("user-data did not run as expected (%s)"
                            % (detail or "no markers"))
        if problems:
            sys.stdout.write("---- serial log ----\n%s\n--------------------\n" % text)
            raise Fail("; ".join(problems))
        log("boot time (QEMU start -> instance-id line): %.1f s [%s]" % (boot_time, accel))
        log(detail)

        if not powerdown(state):
            raise Fail("the guest did not power off on system_powerdown")
        return 0
    finally:
        for st in states:
            if "qmp" in st:
                st["qmp"].close()
            kill_qemu(st["pidfile"], tmp)
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
