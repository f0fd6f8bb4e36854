/*
 * Who asked for a change: carried with a request from the edge (the HTTP
 * connection, the group controller) down to the audit log of destroys
 * (store/audit.h). What the kernel says about the peer (a unix socket's
 * uid, gid and pid; a TCP peer's address) is what can be trusted; the
 * client's own words (its User-Agent, which makes it "cli" when it is this
 * program's) are recorded for what they are.
 */
#ifndef ORIGIN_H
#define ORIGIN_H

enum origin_via {
	ORIGIN_NONE = 0, /* not known (work resumed after a restart) */
	ORIGIN_RPC,	 /* a JSON-RPC client */
	ORIGIN_CLI,	 /* this program's client verbs */
	ORIGIN_GROUP,	 /* the built-in group controller */
	ORIGIN_DAEMON,	 /* the daemon itself (pruning failed records) */
};

enum origin_transport { ORIGIN_NO_PEER = 0, ORIGIN_UNIX, ORIGIN_TCP };

#define ORIGIN_ADDR_MAX 64
#define ORIGIN_AGENT_MAX 96
#define ORIGIN_GROUP_MAX 128

struct origin {
	enum origin_via o_via;
	enum origin_transport o_transport; /* the peer, when o_via is RPC,
					    * CLI, or a GROUP request an RPC
					    * made */
	long o_uid, o_gid, o_pid;	   /* unix peers; -1 not known */
	char o_addr[ORIGIN_ADDR_MAX];	   /* TCP peers: "host:port" */
	char o_agent[ORIGIN_AGENT_MAX];	   /* the client's User-Agent */
	char o_group[ORIGIN_GROUP_MAX];	   /* GROUP: the group's ID */
};

/* "rpc", "cli", "group", "daemon", or "" for ORIGIN_NONE. */
static inline const char *
origin_via_name(enum origin_via v)
{
	switch (v) {
	case ORIGIN_RPC:
		return "rpc";
	case ORIGIN_CLI:
		return "cli";
	case ORIGIN_GROUP:
		return "group";
	case ORIGIN_DAEMON:
		return "daemon";
	default:
		return "";
	}
}

#endif /* ORIGIN_H */
