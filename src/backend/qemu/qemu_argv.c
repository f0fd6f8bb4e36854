/*
 * The QEMU command line of a VM. See qemu_argv.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/bundle.h"
#include "backend/qemu/qemu_argv.h"
#include "util/compat.h"
#include "util/err.h"
#include "vmx/vmx.h"

/* ---- the builder ------------------------------------------------------ */

void
qemu_argv_init(struct qemu_argv *a)
{
	memset(a, 0, sizeof(*a));
}

void
qemu_argv_free(struct qemu_argv *a)
{
	for (size_t i = 0; i < a->qa_nowned; i++)
		free(a->qa_owned[i]);
	qemu_argv_init(a);
}

void
qemu_argv_add(struct qemu_argv *a, const char *s)
{
	if (a->qa_n < QEMU_ARGV_MAX - 1)
		a->qa_v[a->qa_n++] = s;
	else
		a->qa_oom = true;
}

void
qemu_argv_addf(struct qemu_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (s == NULL || a->qa_nowned >= QEMU_ARGV_MAX) {
		free(s);
		a->qa_oom = true;
		return;
	}
	a->qa_owned[a->qa_nowned++] = s;
	qemu_argv_add(a, s);
}

/* ---- small translations ----------------------------------------------- */

const char *
qemu_backing_format(const char *path)
{
	size_t n = strlen(path);

	if (n > 5 && strcasecmp(path + n - 5, ".vmdk") == 0)
		return "vmdk";
	if (n > 6 && strcasecmp(path + n - 6, ".qcow2") == 0)
		return "qcow2";
	return "raw";
}

void
qemu_instance_mac(const char *id, char *out, size_t len)
{
	uint32_t h = 2166136261u;

	for (const char *p = id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	(void)snprintf(out, len, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff,
	    (h >> 8) & 0xff, h & 0xff);
}

void
qemu_vm_mac(const struct vmx *v, const char *id, char *out, size_t len)
{
	const char *s = vmx_get(v, "ethernet0.address");

	if (s != NULL && s[0] != '\0' && strlcpy(out, s, len) < len)
		return;
	qemu_instance_mac(id, out, len);
}

const char *
qemu_nic_model(const char *dev)
{
	if (dev == NULL)
		return "e1000";
	if (strcasecmp(dev, "e1000e") == 0)
		return "e1000e";
	if (strcasecmp(dev, "vmxnet3") == 0)
		return "vmxnet3";
	return "e1000";
}

/* ---- machine, memory, display, console -------------------------------- */

/* s as a value in a QEMU option list: each ',' doubled. Empty when it does
 * not fit (QEMU then refuses the option: never a wrong path). */
static const char *
opt_value(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (n + 3 > len) {
			out[0] = '\0';
			return out;
		}
		out[n++] = *s;
		if (*s == ',')
			out[n++] = ',';
	}
	out[n] = '\0';
	return out;
}

void
qemu_argv_machine(struct qemu_argv *a, const struct qemu_vm *vm)
{
	qemu_argv_add(a, vm->qv_bin);
	qemu_argv_add(a, "-name");
	qemu_argv_add(a, vm->qv_id);
	qemu_argv_add(a, "-machine");
	qemu_argv_add(a, "pc");
	qemu_argv_add(a, "-accel");
	qemu_argv_add(a, vm->qv_kvm ? "kvm" : "tcg");
}

void
qemu_argv_memory(struct qemu_argv *a, const struct vmx *v)
{
	const char *s;

	s = vmx_get(v, "memsize");
	qemu_argv_add(a, "-m");
	qemu_argv_addf(a, "%s", s != NULL ? s : "512");
	s = vmx_get(v, "numvcpus");
	qemu_argv_add(a, "-smp");
	qemu_argv_addf(a, "%s", s != NULL ? s : "1");
}

void
qemu_argv_nodefaults(struct qemu_argv *a)
{
	qemu_argv_add(a, "-no-user-config");
	qemu_argv_add(a, "-nodefaults");
}

void
qemu_argv_display(struct qemu_argv *a, const struct qemu_vm *vm)
{
	if (vm->qv_gui) {
		qemu_argv_add(a, "-vga");
		qemu_argv_add(a, "std");
		if (vm->qv_vnc) {
			/* Explicit, instead of QEMU's silent fallback to VNC
			 * on "localhost" when it finds no window system. */
			qemu_argv_add(a, "-display");
			qemu_argv_add(a, "none");
			qemu_argv_add(a, "-vnc");
			qemu_argv_addf(a, "127.0.0.1:0,to=%d", QEMU_VNC_LAST);
		}
	} else {
		qemu_argv_add(a, "-display");
		qemu_argv_add(a, "none");
	}
}

void
qemu_argv_serial(struct qemu_argv *a, const struct qemu_vm *vm)
{
	char con[2 * PATH_BUF], dir[2 * PATH_BUF];

	qemu_argv_add(a, "-chardev");
	qemu_argv_addf(a,
	    "socket,id=ser0,path=%s,server=on,wait=off,"
	    "logfile=%s/" QEMU_SERIAL_NAME ",logappend=on",
	    opt_value(vm->qv_console, con, sizeof(con)),
	    opt_value(vm->qv_dir, dir, sizeof(dir)));
	qemu_argv_add(a, "-serial");
	qemu_argv_add(a, "chardev:ser0");
}

/* ---- storage ---------------------------------------------------------- */

void
qemu_media(const struct vmx_device *d, const char *file, struct qemu_media *m)
{
	bool cd = d->vd_cdrom;

	/* CD-ROM images are ISO files whatever their name; read-only. */
	m->qm_format = cd ? "raw" : qemu_backing_format(file);
	m->qm_ide_media = cd ? "cdrom" : "disk";
	m->qm_readonly = cd ? ",readonly=on" : "";
	m->qm_sata_dev = cd ? "ide-cd" : "ide-hd";
	m->qm_scsi_dev = cd ? "scsi-cd" : "scsi-hd";
}

void
qemu_argv_ide(struct qemu_argv *a, const struct vmx_device *d, const char *file,
    const struct qemu_media *m)
{
	qemu_argv_add(a, "-drive");
	qemu_argv_addf(a, "file=%s,format=%s,if=ide,index=%d,media=%s%s", file,
	    m->qm_format, d->vd_ctl * 2 + d->vd_unit, m->qm_ide_media,
	    m->qm_readonly);
}

void
qemu_argv_nvme(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m)
{
	qemu_argv_add(a, "-drive");
	qemu_argv_addf(a, "file=%s,format=%s,if=none,id=%s-%d-%d", file,
	    m->qm_format, d->vd_bus, d->vd_ctl, d->vd_unit);
	qemu_argv_add(a, "-device");
	qemu_argv_addf(a, "nvme,drive=%s-%d-%d,serial=%s%d%d", d->vd_bus,
	    d->vd_ctl, d->vd_unit, d->vd_bus, d->vd_ctl, d->vd_unit);
}

void
qemu_argv_controller(struct qemu_argv *a, const struct vmx *v,
    const struct vmx_device *d, bool done[2][8])
{
	bool sata = strcmp(d->vd_bus, "sata") == 0;
	int c = d->vd_ctl & 7;
	const char *model = "lsi53c895a", *dev;
	char key[32];

	if (done[sata ? 1 : 0][c])
		return;
	(void)snprintf(key, sizeof(key), "scsi%d.virtualDev", d->vd_ctl);
	dev = vmx_get(v, key);
	if (!sata && dev != NULL && strcasecmp(dev, "pvscsi") == 0)
		model = "pvscsi";
	qemu_argv_add(a, "-device");
	qemu_argv_addf(a, "%s,id=%s%d", sata ? "ahci" : model, d->vd_bus, c);
	done[sata ? 1 : 0][c] = true;
}

/* The -drive of a device on a controller (SATA, SCSI). */
static void
drive_none(struct qemu_argv *a, const struct vmx_device *d, const char *file,
    const struct qemu_media *m)
{
	qemu_argv_add(a, "-drive");
	qemu_argv_addf(a, "file=%s,format=%s,if=none,id=%s-%d-%d%s", file,
	    m->qm_format, d->vd_bus, d->vd_ctl, d->vd_unit, m->qm_readonly);
}

void
qemu_argv_sata(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m)
{
	drive_none(a, d, file, m);
	qemu_argv_add(a, "-device");
	qemu_argv_addf(a, "%s,bus=%s%d.%d,drive=%s-%d-%d", m->qm_sata_dev,
	    d->vd_bus, d->vd_ctl & 7, d->vd_unit, d->vd_bus, d->vd_ctl,
	    d->vd_unit);
}

void
qemu_argv_scsi(struct qemu_argv *a, const struct vmx_device *d,
    const char *file, const struct qemu_media *m)
{
	drive_none(a, d, file, m);
	qemu_argv_add(a, "-device");
	qemu_argv_addf(a, "%s,bus=%s%d.0,scsi-id=%d,drive=%s-%d-%d",
	    m->qm_scsi_dev, d->vd_bus, d->vd_ctl & 7, d->vd_unit, d->vd_bus,
	    d->vd_ctl, d->vd_unit);
}

/* One device, by its bus. */
static void
argv_device(struct qemu_argv *a, const struct vmx *v,
    const struct vmx_device *d, const char *file, bool done[2][8])
{
	struct qemu_media m;

	qemu_media(d, file, &m);
	if (strcmp(d->vd_bus, "ide") == 0 && d->vd_ctl < 2 && d->vd_unit < 2)
		qemu_argv_ide(a, d, file, &m);
	else if (strcmp(d->vd_bus, "nvme") == 0)
		qemu_argv_nvme(a, d, file, &m);
	else {
		/* SCSI and SATA: one controller each, then devices. */
		qemu_argv_controller(a, v, d, done);
		if (strcmp(d->vd_bus, "sata") == 0)
			qemu_argv_sata(a, d, file, &m);
		else
			qemu_argv_scsi(a, d, file, &m);
	}
}

int
qemu_argv_disks(struct qemu_argv *a, const struct qemu_vm *vm,
    const struct vmx *v, struct err *err)
{
	struct vmx_device *d = NULL;
	bool done[2][8];
	long n;
	int rc = -1;

	memset(done, 0, sizeof(done));
	n = bundle_devices(v, &d);
	if (n < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	for (long i = 0; i < n; i++) {
		char file[PATH_BUF];

		if (!d[i].vd_present || !d[i].vd_image)
			continue;
		if (bundle_resolve(
			vm->qv_vmx, d[i].vd_file, file, sizeof(file)) == -1)
			continue;
		if (strchr(file, ',') != NULL) {
			err_set(err, EIK_INVAL,
			    "%s: QEMU cannot take a file name with a comma: %s",
			    d[i].vd_slot, file);
			goto out;
		}
		argv_device(a, v, &d[i], file, done);
	}
	rc = 0;
out:
	free(d);
	return rc;
}

/* ---- network, boot, control ------------------------------------------- */

void
qemu_argv_nic(
    struct qemu_argv *a, const struct qemu_vm *vm, const struct vmx *v)
{
	const char *s = vmx_get(v, "ethernet0.present");
	const char *model = qemu_nic_model(vmx_get(v, "ethernet0.virtualDev"));
	char mac[32], helper[2 * PATH_BUF];

	if (s == NULL || strcasecmp(s, "TRUE") != 0)
		return;
	qemu_vm_mac(v, vm->qv_id, mac, sizeof(mac));
	qemu_argv_add(a, "-nic");
	if (vm->qv_bridge != NULL)
		qemu_argv_addf(a, "bridge,br=%s,helper=%s,model=%s,mac=%s",
		    vm->qv_bridge,
		    opt_value(vm->qv_helper, helper, sizeof(helper)), model,
		    mac);
	else if (vm->qv_ssh_port != 0)
		qemu_argv_addf(a,
		    "user,model=%s,mac=%s,hostfwd=tcp:127.0.0.1:%u-:22", model,
		    mac, vm->qv_ssh_port);
	else
		qemu_argv_addf(a, "user,model=%s,mac=%s", model, mac);
}

void
qemu_argv_boot(struct qemu_argv *a, const struct vmx *v)
{
	const char *s = vmx_get(v, "bios.bootOrder");
	bool cd_first = s != NULL && strncasecmp(s, "cdrom", 5) == 0;

	qemu_argv_add(a, "-boot");
	qemu_argv_add(a, cd_first ? "order=dc" : "order=cd");
}

void
qemu_argv_control(struct qemu_argv *a, const struct qemu_vm *vm)
{
	qemu_argv_add(a, "-qmp");
	qemu_argv_addf(a, "unix:%s,server,nowait", vm->qv_qmp);
	qemu_argv_add(a, "-pidfile");
	qemu_argv_addf(a, "%s/" QEMU_PID_NAME, vm->qv_dir);
	qemu_argv_add(a, "-daemonize");
}

int
qemu_argv_build(struct qemu_argv *a, const struct qemu_vm *vm,
    const struct vmx *v, struct err *err)
{
	qemu_argv_machine(a, vm);
	qemu_argv_memory(a, v);
	qemu_argv_nodefaults(a);
	qemu_argv_display(a, vm);
	qemu_argv_serial(a, vm);
	if (qemu_argv_disks(a, vm, v, err) == -1)
		return -1;
	qemu_argv_nic(a, vm, v);
	qemu_argv_boot(a, v);
	qemu_argv_control(a, vm);
	if (a->qa_oom) {
		err_set(err, EIK_INTERNAL, "QEMU command line too long");
		return -1;
	}
	a->qa_v[a->qa_n] = NULL;
	return 0;
}
