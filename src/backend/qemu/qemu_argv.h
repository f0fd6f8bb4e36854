/*
 * The QEMU command line of a VM, translated from its .vmx: one helper per
 * part (machine and accelerator, memory and CPUs, display, serial console,
 * each disk bus, CD-ROM media, NIC, boot order, QMP/pidfile/daemonize),
 * each appending to a struct qemu_argv. Nothing here runs a program or
 * touches a file: the .vmx comes parsed and every path as a string, so the
 * unit tests compare whole command lines with the transcripts in
 * tests/data/qemu/ (tests/unit/test_qemu.c).
 */
#ifndef QEMU_ARGV_H
#define QEMU_ARGV_H

#include <stdbool.h>
#include <stddef.h>

struct err;
struct vmx;
struct vmx_device;

#define QEMU_ARGV_MAX 128	 /* arguments, the terminating NULL included */
#define QEMU_PID_NAME "qemu.pid" /* in the bundle */
#define QEMU_SERIAL_NAME "serial.log"	 /* in the bundle */
#define QEMU_CONSOLE_NAME "console.sock" /* the serial port, in the bundle */
/* LaunchGUI without a display: VNC on loopback, the first free display
 * from 0 (port 5900) to QEMU_VNC_LAST (port 5900 + QEMU_VNC_LAST). */
#define QEMU_VNC_LAST 99

/* A command line being built. Too many arguments or no memory sets
 * qa_oom (sticky, as libvirt's virCommand); qemu_argv_build reports it. */
struct qemu_argv {
	const char *qa_v[QEMU_ARGV_MAX]; /* NULL-terminated by the build */
	char *qa_owned[QEMU_ARGV_MAX];	 /* what qemu_argv_addf made */
	size_t qa_n, qa_nowned;
	bool qa_oom;
};

/* What the command line depends on besides the .vmx. All borrowed. */
struct qemu_vm {
	const char *qv_bin;	/* qemu-system-x86_64, absolute */
	const char *qv_id;	/* instance ID: -name, the generated MAC */
	const char *qv_dir;	/* the bundle: serial.log, qemu.pid */
	const char *qv_vmx;	/* the .vmx's path: relative image names */
	const char *qv_qmp;	/* the QMP socket's path */
	const char *qv_console; /* the serial port's unix socket */
	bool qv_kvm;		/* -accel kvm, else tcg */
	bool qv_gui;		/* Properties.LaunchGUI: a VGA display */
	bool qv_vnc;		/* ... on VNC (no window system here) */
	/* Networking: user mode (qv_bridge NULL), where qv_ssh_port (when
	 * not 0) is forwarded from 127.0.0.1 to the guest's port 22, or a tap
	 * on the host bridge qv_bridge made by the helper qv_helper. */
	unsigned qv_ssh_port;
	const char *qv_bridge;
	const char *qv_helper;
};

void qemu_argv_init(struct qemu_argv *a);
/* Frees what the helpers copied; a stays usable after qemu_argv_init. */
void qemu_argv_free(struct qemu_argv *a);
/* Appends s (borrowed: it must outlive a). */
void qemu_argv_add(struct qemu_argv *a, const char *s);
/* Appends a formatted copy (owned by a). */
void qemu_argv_addf(struct qemu_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The parts, in command-line order. */
/* bin -name ID -machine pc -accel kvm|tcg */
void qemu_argv_machine(struct qemu_argv *a, const struct qemu_vm *vm);
/* -m memsize -smp numvcpus (512 and 1 when the .vmx has none) */
void qemu_argv_memory(struct qemu_argv *a, const struct vmx *v);
/* -no-user-config -nodefaults: only the devices asked for */
void qemu_argv_nodefaults(struct qemu_argv *a);
/* -display none, or -vga std with LaunchGUI (and, with qv_vnc,
 * -display none -vnc 127.0.0.1:0,to=QEMU_VNC_LAST) */
void qemu_argv_display(struct qemu_argv *a, const struct qemu_vm *vm);
/* -chardev socket,id=ser0,path=CONSOLE,server=on,wait=off,
 * logfile=DIR/serial.log,logappend=on -serial chardev:ser0: a client may
 * attach to the console while the log keeps everything, across starts */
void qemu_argv_serial(struct qemu_argv *a, const struct qemu_vm *vm);
/*
 * Every present, image-backed device of v through the helpers below, in
 * slot order (host drives and devices that are not present are left out).
 * -1 with err set for a file name QEMU cannot take (a comma) or when out
 * of memory.
 */
int qemu_argv_disks(struct qemu_argv *a, const struct qemu_vm *vm,
    const struct vmx *v, struct err *err);
/* For ethernet0 when present: -nic user,model=...,mac=...[,hostfwd=
 * tcp:127.0.0.1:PORT-:22], or -nic bridge,br=NAME,helper=...,model=...,
 * mac=... */
void qemu_argv_nic(
    struct qemu_argv *a, const struct qemu_vm *vm, const struct vmx *v);
/* -boot order=dc when bios.bootOrder starts with cdrom, else order=cd */
void qemu_argv_boot(struct qemu_argv *a, const struct vmx *v);
/* -qmp unix:QMP,server,nowait -pidfile DIR/qemu.pid -daemonize */
void qemu_argv_control(struct qemu_argv *a, const struct qemu_vm *vm);

/*
 * The whole command line: every part above, NULL-terminated in a->qa_v.
 * 0, or -1 with err set. a must be initialised; free it in every case.
 */
int qemu_argv_build(struct qemu_argv *a, const struct qemu_vm *vm,
    const struct vmx *v, struct err *err);

/*
 * How one device's image is attached, CD-ROM or disk: the image format
 * (raw for CD-ROMs, else by the file's extension), the IDE media, the
 * read-only option and the SATA/SCSI device models.
 */
struct qemu_media {
	const char *qm_format;	  /* raw, qcow2, vmdk */
	const char *qm_ide_media; /* cdrom, disk */
	const char *qm_readonly;  /* ",readonly=on" or "" */
	const char *qm_sata_dev;  /* ide-cd, ide-hd */
	const char *qm_scsi_dev;  /* scsi-cd, scsi-hd */
};
void qemu_media(
    const struct vmx_device *d, const char *file, struct qemu_media *m);

/* One device, by bus; file is its image, resolved. */
/* IDE primary/secondary, master/slave: -drive if=ide,index=0..3 */
void qemu_argv_ide(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m);
/* NVMe: a -drive if=none and an nvme device with a serial of its slot */
void qemu_argv_nvme(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m);
/*
 * The controller of a SATA (ahci) or SCSI (lsi53c895a, or pvscsi when
 * scsiN.virtualDev says so) device, once per controller: done[sata][ctl]
 * records which were added. Other IDE slots than 0:0..1:1 take this path
 * as SCSI, as they always have.
 */
void qemu_argv_controller(struct qemu_argv *a, const struct vmx *v,
    const struct vmx_device *d, bool done[2][8]);
/* SATA: -drive if=none and ide-hd/ide-cd on the ahci bus, port = unit */
void qemu_argv_sata(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m);
/* SCSI: -drive if=none and scsi-hd/scsi-cd, scsi-id = unit */
void qemu_argv_scsi(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m);

/* qemu-img's name of an image's format, by its extension: vmdk, qcow2,
 * else raw. */
const char *qemu_backing_format(const char *path);
/* A MAC for the instance, stable across restarts: QEMU's prefix and three
 * bytes of the ID's hash. */
void qemu_instance_mac(const char *id, char *out, size_t len);
/* The MAC of v's ethernet0: its ethernet0.address, else the instance's. */
void qemu_vm_mac(const struct vmx *v, const char *id, char *out, size_t len);
/* QEMU's NIC model for ethernet0.virtualDev: e1000e, vmxnet3, else e1000. */
const char *qemu_nic_model(const char *dev);

#endif /* QEMU_ARGV_H */
