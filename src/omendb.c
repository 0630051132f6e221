/*
 * omendb.c
 *		Module entry point: library magic and start-up.
 */
#include "postgres.h"

#include "fmgr.h"

#include "diskann.h"
#include "distance.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Called once when the library is loaded into a backend: pick the
 *		distance kernels for this CPU and register the index AM's settings.
 */
void
_PG_init(void)
{
	OmenKernelsInit();
	OmenQuantKernelsInit();
	DiskannInit();
}
