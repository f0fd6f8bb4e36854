/*
 * Pure planning for the group controller: what one reconcile pass does
 * (spec infrakit-group.md §2.3-§2.6, §3.3-§3.4) and what a commit will do
 * (§3.2, the text `group commit --pretend` prints). No I/O, no clock: the
 * caller passes the members it listed, the time and its failure count, and
 * carries out the actions.
 *
 * A pass, as InfraKit's supervisors do it, with these fixes (spec §7):
 * - Members still provisioning count, so a slow Provision does not make the
 *   group create more (Q2).
 * - A stopped member (our plugin hides it from InfraKit) is left alone and
 *   replaced, as InfraKit does, unless Recovery.RestartPolicy is "restart":
 *   then it counts and is started again in place.
 * - Failed provisions back off (Recovery.Backoff doubling up to BackoffMax)
 *   and stop after Recovery.MaxFailures in a row, where InfraKit retries
 *   every pass forever.
 * - A rolling update keeps at most Updating.MaxUnavailable members down and
 *   may create Updating.MaxSurge extra members first; with the defaults (1,
 *   0) that is InfraKit's one at a time, lowest ID first, the next one only
 *   once the replacement runs. Replacements come from the next pass (as in
 *   InfraKit, the roll only destroys). A roll also waits while creation is
 *   held, so it never removes members it cannot replace (Q5).
 * - A commit that grows a rolling group creates the new members at once,
 *   with the new config, instead of after the roll.
 * Kept: scale-down removes the byte-wise smallest IDs whatever their hash
 * (Q1); members without a LogicalID in a pets group are ignored; a
 * LogicalID listed twice gets two members and duplicates are never
 * repaired (Q10); outdated members are adopted and rolled only by a commit
 * that asks for a roll (Q16).
 */
#ifndef PLAN_H
#define PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "group/ghash.h"
#include "group/gspec.h"

struct err;

#define PLAN_TEXT_MAX 256 /* a commit plan's text */
#define PLAN_NOTE_MAX 256 /* a pass's note */

enum member_state {
	MEMBER_PROVISIONING, /* created, not running yet: counted, down */
	MEMBER_RUNNING,	     /* counted and up */
	MEMBER_STOPPED,	     /* off, suspended, paused: see RestartPolicy */
	MEMBER_FAILED	     /* its provision failed: never counted */
};

/* One listed member (Describe filtered by infrakit.group). Borrowed. */
struct member {
	const char *m_id;
	const char *m_logical_id; /* NULL: none */
	const char *m_hash;	  /* the era's hash tag; NULL: absent */
	enum member_state m_state;
	/* Monotonic ms since when it is in m_state (0: long ago). Only
	 * Updating.Count/Duration look at it. */
	int64_t m_since_ms;
};

enum plan_op {
	PLAN_CREATE,  /* Prepare + Provision (a_logical_id for pets) */
	PLAN_DESTROY, /* Destroy a_id with plan_reason(a_why) */
	PLAN_RESTART, /* start the stopped member a_id again */
	PLAN_LABEL    /* Label a_id with the group and hash tags (§2.3) */
};

enum plan_why {
	WHY_GROW,     /* create: fewer members than the target */
	WHY_SURGE,    /* create: an extra member for a roll (MaxSurge) */
	WHY_MISSING,  /* create: a listed LogicalID has no member */
	WHY_SHRINK,   /* destroy: more members than the target */
	WHY_UNKNOWN,  /* destroy: a pet whose LogicalID is not listed */
	WHY_ROLL,     /* destroy: an outdated member, rolling update */
	WHY_STOPPED,  /* restart: RestartPolicy "restart" */
	WHY_BOOTSTRAP /* label: its hash tag is "bootstrap" */
};

struct plan_action {
	enum plan_op a_op;
	enum plan_why a_why;
	const char *a_id;	  /* borrowed from the members; NULL: create */
	const char *a_logical_id; /* borrowed; pets' creates and members */
};

enum plan_hold {
	PLAN_HOLD_NONE,
	PLAN_HOLD_BACKOFF, /* waiting pp_wait_ms after a failed provision */
	PLAN_HOLD_STALLED  /* MaxFailures reached: until the next commit */
};

struct plan_input {
	const struct group_spec *pi_spec;
	const char *pi_hash; /* the config hash of pi_spec (the era's) */
	const struct member *pi_members;
	size_t pi_n;
	bool pi_rolling;	    /* a commit asked for a roll */
	unsigned pi_failures;	    /* provisions failed in a row */
	int64_t pi_last_failure_ms; /* monotonic ms of the last one */
	int64_t pi_now_ms;	    /* monotonic ms now */
	int64_t pi_poll_ms;	    /* poll interval (Updating.Count) */
};

struct plan_pass {
	struct plan_action *pp_act; /* pp_n actions, run concurrently */
	size_t pp_n;
	size_t pp_cap;
	size_t pp_held; /* creates the hold kept back */
	enum plan_hold pp_hold;
	int64_t pp_wait_ms; /* PLAN_HOLD_BACKOFF: until the next try */
	size_t pp_outdated; /* outdated members left after this pass */
	bool pp_roll_done;  /* pi_rolling and none left: end the roll */
	char pp_note[PLAN_NOTE_MAX]; /* why creation is held, or "" */
};

/*
 * One reconcile pass over the members. out must be zeroed; free it with
 * plan_pass_free (its action pointers borrow from in's members and spec,
 * valid while those live). 0, or -1 (out of memory) with err set.
 */
int plan_pass(
    const struct plan_input *in, struct plan_pass *out, struct err *err);
void plan_pass_free(struct plan_pass *p);

/* How long a member with the target config must have run before a roll
 * counts it as up: Updating.Duration, or Count - 1 poll intervals. */
int64_t plan_settle_ms(const struct plan_input *in);

/* Destroy's Context.Reason for a destroy: "rolling_update" for WHY_ROLL,
 * else "terminate". */
const char *plan_reason(enum plan_why why);

/* The wait after `failures` failed provisions in a row: Backoff doubled
 * per further failure, at most BackoffMax; 0 for no failure. */
int64_t plan_backoff_ms(const struct group_spec *g, unsigned failures);

/*
 * A listed instance as a member: LogicalID (else master's
 * infrakit.logical_id tag), the hash tag's value, the state (running but
 * not reported = stopped). Returns 0 for an instance that is not a member
 * any more (being destroyed), else 1. The strings borrow from v;
 * m_since_ms is left 0 for the caller to fill.
 */
int plan_member_of(
    const struct inst_view *v, const char *hash_tag, struct member *m);

struct plan_commit_in {
	const struct group_spec *ci_old; /* committed now; NULL: new group */
	const char *ci_old_hash;
	const struct group_spec *ci_new;
	const char *ci_new_hash;
	const struct member *ci_members;
	size_t ci_n;
	/* Whose wording: v0.1-v0.4 put two spaces in "..., then" and, like
	 * v0.5, say "Adjusting the instance configuration, no restarts
	 * necessary" where master says "Noop". */
	enum ghash_era ci_style;
};

struct plan_commit {
	char pc_text[PLAN_TEXT_MAX]; /* InfraKit's plan text */
	size_t pc_destroy;	     /* predicted scale-down destroys */
	size_t pc_roll;		     /* outdated members to roll */
	size_t pc_create;	     /* predicted creates */
	bool pc_roll_start;	     /* start a rolling update */
};

/*
 * Plans a commit of ci_new over ci_old (spec §3.2): the text and numbers,
 * from one listing. Refuses (-1, err set) what the controller cannot do
 * safely: changing the LogicalIDs of a pets group (InfraKit's refusal,
 * Q10), switching between Size and LogicalIDs (InfraKit destroys every
 * member, Q9), changing Instance.Plugin (InfraKit orphans every member,
 * Q18).
 */
int plan_commit(
    const struct plan_commit_in *in, struct plan_commit *out, struct err *err);

/* What the CLI prints: "Committed <ID>: <text>", or with pretend
 * "Committing <ID> would involve: <text>". */
void plan_commit_message(const char *id, const struct plan_commit *pc,
    bool pretend, char *out, size_t len);

#endif /* PLAN_H */
