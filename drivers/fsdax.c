// SPDX-License-Identifier: MIT
/*
 * A driver's view of a filesystem-DAX file (the file itself is src/fs/dax.c):
 * create it on pmem, mmap it, look at its blocks. Short-term pins of its
 * pages work (DIO to DAX); FOLL_LONGTERM is refused with -EOPNOTSUPP.
 */
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <pinmm/drivers.h>

int fsdax_create(size_t size, struct fsdax_file **out)
{
	struct fsdax_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	f->file = dax_file_create(size, &f->pages, &f->npages);
	if (IS_ERR(f->file)) {
		int err = (int)PTR_ERR(f->file);

		kfree(f);
		return err;
	}
	*out = f;
	return 0;
}

void fsdax_destroy(struct fsdax_file *f)
{
	/* pages still mapped or pinned stay allocated until their last put */
	fput(f->file);
	kfree(f);
}

unsigned long fsdax_mmap(struct fsdax_file *f, size_t len, unsigned long prot,
			 unsigned long flags)
{
	if (len > f->npages << PAGE_SHIFT)
		return (unsigned long)-EINVAL;
	return vm_mmap(f->file, 0, len, prot, flags, 0);
}

unsigned long fsdax_pages_in_use(void)
{
	return dax_pages_in_use();
}
