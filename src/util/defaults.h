/*
 * Every limit, timeout, mode and default of the plugin, as a named constant.
 * Nothing else in the tree spells out one of these numbers.
 */
#ifndef DEFAULTS_H
#define DEFAULTS_H

#define PLUGIN_PROGNAME "infrakit-instance-vmware-fusion"
#define PLUGIN_DEFAULT_NAME "vmware-fusion"
#define PLUGIN_URL "https://github.com/docker/infrakit"

/* Protocol. */
#define RPC_MAX_BODY (1024 * 1024) /* request body cap, bytes */
#define RPC_MAX_TAGS 256	   /* tags per request */
#define RPC_MAX_TAG_KEY 256	   /* bytes */
#define RPC_MAX_TAG_VALUE 4096	   /* bytes */
#define RPC_MAX_ID 128		   /* instance IDs in requests */
#define RPC_MAX_LOGICAL_ID 253	   /* a DNS name at most */
#define RPC_MAX_ATTACHMENTS 64
#define RPC_MAX_SSH_KEYS 64
#define RPC_MAX_SSH_KEY 16384
#define RPC_MAX_TYPE 64

/* HTTP server. */
#define HTTP_CONN_TIMEOUT_S 30	     /* idle keep-alive connections */
#define HTTP_CONN_MEMORY (64 * 1024) /* per-connection header memory */
#define HTTP_CONN_LIMIT 65536 /* connections at most, whatever the fd limit */
#define HTTP_CONN_MIN 16      /* connections at least, even on a tiny limit */
#define HTTP_CONN_SLACK 16  /* libmicrohttpd's cap above ours: room to evict */
#define HTTP_FD_RESERVE 256 /* descriptors kept for backend work */
#define HTTP_BODY_BUDGET (64 * 1024 * 1024) /* bodies still arriving */
#define HTTP_THREADS_PER_CORE 8		    /* libmicrohttpd polling threads */
#define HTTP_THREADS_MAX 32
#define HTTP_LISTEN_BACKLOG                                                    \
	4096 /* a burst must not find it full (the kernel caps it) */
#define TCP_PORT_MAX 65535 /* --listen tcp://HOST:PORT */

/* TLS on the TCP listener (http/tlsfront.c) and in the client verbs. A
 * handshake has the total time of a plain connection's first request;
 * an ended connection that much to flush what it holds. */
#define TLS_HANDSHAKE_MS (HTTP_CONN_TIMEOUT_S * 1000)
#define TLS_LINGER_MS (HTTP_CONN_TIMEOUT_S * 1000)
#define TLS_HANDSHAKE_MAX 256	  /* at once; a newcomer ends the oldest */
#define TLS_REFUSE_LINGER_MS 2000 /* a refused client reads the alert */
#define TLS_BUF (16 * 1024)	  /* one record, each way */
#define TLS_FD_COST 3		  /* descriptors: the socket and a pair */
#define TLS_ACCEPT_BATCH 64	  /* accepted per wake-up */
#define TLS_LOG_BURST 20	  /* refusals logged per window, */
#define TLS_LOG_WINDOW_MS 10000	  /* then one count per window */
#define TLS_PEM_MAX (1024 * 1024) /* a certificate, key or CA file */

/* Files. */
#define PLUGINS_DIR_MODE 0700
#define SOCKET_MODE 0600
#define STATE_DIR_MODE 0700
#define RECORD_MODE 0600
#define RECORD_MAX_SIZE (4 * 1024 * 1024) /* instance.json */
#define VMX_MAX_SIZE (4 * 1024 * 1024)
#define JOURNAL_MAX_ENTRY RECORD_MAX_SIZE
#define JOURNAL_CHUNK (256 * 1024)   /* preallocated at a time */
#define JOURNAL_RESERVE (256 * 1024) /* kept for Destroys on a full disk */
#define JOURNAL_MAX_SIZE (256 * 1024 * 1024) /* read at start-up */
#define JOURNAL_RESET_AT (4 * 1024 * 1024)   /* hold new entries to empty it */
#define PATH_BUF 4096

/* Instances. */
#define ID_PREFIX "i-"
#define ID_MAX 32 /* buffer size for our own IDs */
#define TEMPLATE_NAME_MAX 128
#define SSH_USER_MAX 32 /* Properties.SSHUser, as useradd allows */
#define MEMSIZE_DEFAULT_MB 512
#define MEMSIZE_MIN_MB 32
#define MEMSIZE_MAX_MB (1024 * 1024) /* VMware's limit is 128 GB-6 TB */
#define NUMCPUS_DEFAULT 1
#define NUMCPUS_MAX 128
#define INIT_MAX_SIZE (512 * 1024) /* Spec.Init, bytes */
#define FAILED_KEEP 200		   /* failed records kept for describe --all */
#define INSTANCE_MAX_TAGS 256	   /* tags of one instance, labels included */
#define INSTANCE_MAX_TAG_BYTES (64 * 1024)	 /* their keys and values */
#define DESCRIBE_MAX_ANSWER (1024 * 1024 * 1024) /* bytes of one answer */

/* Persistent disks of pets (Spec.Attachments of Type "disk" or "vmdk"). */
#define ATTACH_ID_MAX 64	      /* bytes of a disk's ID (its file name) */
#define ATTACH_MAX_DISKS 4	      /* disks of one instance (SATA ports) */
#define ATTACH_SIZE_DEFAULT_GB 10     /* Properties.AttachmentSizeGB */
#define ATTACH_SIZE_MAX_GB (8 * 1024) /* VMware's largest virtual disk */
#define ATTACH_META_MAX (64 * 1024)   /* attachment.json */

/* Engine. */
#define MAX_PARALLEL_DEFAULT 4
#define MAX_PARALLEL_MAX 64
/* Power-state refresh: a VM stopped behind the plugin's back is seen (and
 * the group controller replaces or restarts it) within this time. */
#define POLL_INTERVAL_DEFAULT_MS 1000
#define POLL_INTERVAL_MIN_MS 100
#define OP_TIMEOUT_DEFAULT_MS (30 * 60 * 1000) /* one backend operation */
#define STOP_SOFT_DEFAULT_MS 30000	       /* soft power-off before hard */

/* Reaching guests. */
#define NET_PROBE_TIMEOUT_MS 2000 /* one SSH banner probe */
#define NET_FAST_MS 1000	  /* probe this often at first, */
#define NET_FAST_FOR_MS 180000	  /* for this long after a start, */
#define NET_SLOW_MS 15000	  /* then this often, */
#define NET_GIVE_UP_MS 1800000	  /* until this long after a start */
#define SSH_PORT_MIN 24022	  /* loopback ports forwarded to guests */
#define SSH_PORT_MAX 32767	  /* (below Linux's ephemeral range) */

/* The service's retries and batches. */
#define MAT_BATCH 64		    /* records written out at a time */
#define MAT_RETRY_MIN_MS 500	    /* after a failed write-out, */
#define MAT_RETRY_MAX_MS 30000	    /* doubling up to this */
#define RESET_RETRY_MS 1000	    /* a journal entry or compaction */
#define DESTROY_RETRY_MIN_MS 1000   /* a failed destroy, doubling */
#define DESTROY_RETRY_MAX_MS 300000 /* up to 5 minutes */
#define SPAWN_RETRY_MS 1000	    /* no thread for a job */

/* Child processes. */
#define PROC_MAX_OUTPUT (1024 * 1024)
#define PROC_DEFAULT_TIMEOUT_MS 120000
#define PROC_KILL_GRACE_MS 2000 /* SIGTERM → SIGKILL */
#define PROC_TICK_MS 50		/* how often a waiting run looks at its token */
#define PROC_DAEMON_GRACE_MS 200 /* output held open by a grandchild */

/* VMware. */
#define VMRUN_LIST_MAX 100000 /* VMs one `vmrun list` may count */
/*
 * The largest .vmx VMware takes: 1 MiB by default (its
 * tools.setInfo.sizeLimit; vmware-tanzu/vm-operator#148, "the vmx file has a
 * maximum size (by default) of 1MiB"; govmomi#2158, "the final vmx file is
 * less than 1MB"), which is what guestinfo keys count against. Observed:
 * 605 KB of Init made a 1.16 MB .vmx that VMware refused (issue 11 #12).
 * spec/vmware.md does not document it.
 */
#define VMX_VMWARE_MAX_SIZE (1024 * 1024)
#define VMX_VMWARE_HEADROOM (16 * 1024) /* for the keys VMware adds itself */

/* QEMU. */
#define QMP_SOCK_PATH_MAX 100 /* under sun_path's size everywhere (104) */
#define QMP_TMPDIR_MAX 40     /* a longer $TMPDIR: /tmp instead */
#define QMP_RUNDIR_MODE 0700  /* <tmp>/ikvf-qmp-<euid>, exactly */

/* The plugin's own SSH key pair for its guests (serve makes it). */
#define SSH_KEY_DIR ".ssh" /* <vm-dir>/.ssh, mode 0700 */
#define SSH_KEY_DIR_MODE 0700
#define SSH_KEY_NAME "id_ed25519" /* and id_ed25519.pub */
#define SSH_KEYGEN_TIMEOUT_MS 30000

/* How often serve looks whether its socket is still there. */
#define SOCKET_CHECK_MS 2000

/* The client verbs (cmd/). */
#define CLIENT_TIMEOUT_S 60		       /* for the plugin's answer */
#define CLIENT_MAX_ANSWER (256 * 1024 * 1024)  /* bytes of one answer */
#define CLIENT_WAIT_DEFAULT_MS (5 * 60 * 1000) /* provision --wait */
#define CLIENT_WAIT_POLL_MS 500		       /* its Describe rate */
#define CLIENT_FOLLOW_POLL_MS 250	       /* logs -f */
#define CLIENT_CONSOLE_DRAIN_MS 1000 /* console: output after stdin's end */

/* Observability. */
#define METRICS_MAX_ANSWER (8 * 1024 * 1024) /* bytes of one GET /metrics */
#define AUDIT_BATCH_MAX (16 * 1024 * 1024)   /* audit.log bytes at once */
#define AUDIT_ERROR_MAX 512		     /* bytes of an error kept */

/* Environment. */
#define ENV_PLUGINS_DIR "INFRAKIT_PLUGINS_DIR"
#define ENV_INFRAKIT_HOME "INFRAKIT_HOME"

#endif /* DEFAULTS_H */
