// SPDX-License-Identifier: MIT
/*
 * Task credentials for memory accounting: uid and user_struct, effective
 * capabilities, resource limits (include/pinmm/cred.h). Linux spreads these
 * over kernel/user.c, kernel/capability.c and kernel/sys.c; pinmm needs only
 * the parts that pinned and locked memory are charged against.
 */
#include <errno.h>
#include <pinmm/bug.h>
#include <pinmm/locks.h>
#include <pinmm/slab.h>
#include <pinmm/task.h>

static struct user_struct root_user = {
	.__count = ATOMIC_INIT(1),	/* never reaches zero: the static one */
	.uid = 0,
};

/* Non-root user_structs by uid; root's is not on the list. */
static LIST_HEAD(users);
static spinlock_t users_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);

struct user_struct *get_uid(struct user_struct *u)
{
	atomic_inc(&u->__count);
	return u;
}

void free_uid(struct user_struct *u)
{
	if (!u || u == &root_user) {
		if (u)
			atomic_dec(&u->__count);
		return;
	}
	spin_lock(&users_lock);
	if (!atomic_dec_and_test(&u->__count)) {
		spin_unlock(&users_lock);
		return;
	}
	list_del(&u->node);
	spin_unlock(&users_lock);
	/* every charge has an uncharge by someone holding a reference */
	WARN_ON_ONCE(atomic_long_read(&u->locked_vm));
	kfree(u);
}

/* The user_struct of @uid with a reference taken, created if new. */
static struct user_struct *alloc_uid(uid_t uid)
{
	struct user_struct *u, *fresh;

	if (uid == 0)
		return get_uid(&root_user);
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	spin_lock(&users_lock);
	list_for_each_entry(u, &users, node) {
		if (u->uid == uid) {
			get_uid(u);
			spin_unlock(&users_lock);
			kfree(fresh);
			return u;
		}
	}
	if (fresh) {
		atomic_set(&fresh->__count, 1);
		fresh->uid = uid;
		list_add(&fresh->node, &users);
	}
	spin_unlock(&users_lock);
	return fresh;
}

bool capable(int cap)
{
	struct task_struct *t = pinmm_current();

	if (WARN_ON_ONCE(cap < 0 || cap > CAP_LAST_CAP))
		return false;
	return !t || (t->cap_effective.val >> cap) & 1;
}

unsigned long task_rlimit(const struct task_struct *t, unsigned int resource)
{
	if (WARN_ON_ONCE(resource >= RLIM_NLIMITS))
		return 0;
	return __atomic_load_n(&t->signal->rlim[resource].rlim_cur, __ATOMIC_RELAXED);
}

unsigned long rlimit(unsigned int resource)
{
	struct task_struct *t = pinmm_current();

	return t ? task_rlimit(t, resource) : RLIM_INFINITY;
}

int pinmm_task_set_rlimit(struct task_struct *t, unsigned int resource, unsigned long cur,
			  unsigned long max)
{
	if (resource >= RLIM_NLIMITS || cur > max)
		return -EINVAL;
	__atomic_store_n(&t->signal->rlim[resource].rlim_max, max, __ATOMIC_RELAXED);
	__atomic_store_n(&t->signal->rlim[resource].rlim_cur, cur, __ATOMIC_RELAXED);
	return 0;
}

void pinmm_task_set_cap(struct task_struct *t, int cap, bool on)
{
	if (WARN_ON_ONCE(cap < 0 || cap > CAP_LAST_CAP))
		return;
	if (on)
		t->cap_effective.val |= 1ULL << cap;
	else
		t->cap_effective.val &= ~(1ULL << cap);
}

int pinmm_task_set_uid(struct task_struct *t, uid_t uid)
{
	struct user_struct *u = alloc_uid(uid);

	if (!u)
		return -ENOMEM;
	free_uid(t->user);
	t->user = u;
	t->uid = uid;
	return 0;
}

int pinmm_cred_init(struct task_struct *t, const struct task_struct *parent)
{
	t->signal = &t->signal_s;
	if (parent) {
		t->uid = parent->uid;
		t->cap_effective = parent->cap_effective;
		t->signal_s = *parent->signal;
		t->user = get_uid(parent->user);
		return 0;
	}
	t->uid = 0;
	t->cap_effective.val = (2ULL << CAP_LAST_CAP) - 1;
	for (unsigned int r = 0; r < RLIM_NLIMITS; r++)
		t->signal_s.rlim[r] = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	t->signal_s.rlim[RLIMIT_MEMLOCK] = (struct rlimit){ MLOCK_LIMIT, MLOCK_LIMIT };
	t->user = get_uid(&root_user);
	return 0;
}

void pinmm_cred_exit(struct task_struct *t)
{
	free_uid(t->user);
	t->user = NULL;
}

unsigned long pinmm_users_leaked(void)
{
	unsigned long n = 0;
	struct user_struct *u;

	spin_lock(&users_lock);
	list_for_each_entry(u, &users, node) {
		fprintf(stderr, "pinmm: user_struct of uid %u leaked (%d references, locked_vm %ld)\n",
			u->uid, atomic_read(&u->__count), atomic_long_read(&u->locked_vm));
		n++;
	}
	spin_unlock(&users_lock);
	if (atomic_long_read(&root_user.locked_vm)) {
		fprintf(stderr, "pinmm: root's locked_vm is %ld pages at shutdown (a lost uncharge)\n",
			atomic_long_read(&root_user.locked_vm));
		n++;
	}
	return n;
}
