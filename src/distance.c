/*
 * distance.c
 *		Distance kernels: scalar reference versions and run-time selection.
 *
 * SIMD versions are added alongside the scalar ones; OmenKernelsInit()
 * chooses among them by CPU feature tests at run time.
 */
#include <math.h>
#include <stddef.h>

#include "distance.h"

/* sum of squared differences */
static float
l2sq_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

/* inner product */
static float
dot_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* sum of absolute differences */
static float
l1_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

/* dot product and both squared norms in one pass */
static void
cosine_parts_scalar(const float *a, const float *b, int n,
					float *dot, float *norma, float *normb)
{
	float		d = 0.0f,
				na = 0.0f,
				nb = 0.0f;

	for (int i = 0; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norma = na;
	*normb = nb;
}

static const OmenKernels kernels_scalar = {
	"scalar", l2sq_scalar, dot_scalar, l1_scalar, cosine_parts_scalar
};

OmenKernels omen_kernels = {
	"scalar", l2sq_scalar, dot_scalar, l1_scalar, cosine_parts_scalar
};

/* Every kernel set this CPU can run, best last. */
int
OmenKernelsAvailable(const OmenKernels **sets)
{
	int			n = 0;

	sets[n++] = &kernels_scalar;
	return n;
}

/* Select the fastest kernels this CPU supports. */
void
OmenKernelsInit(void)
{
	const OmenKernels *sets[3];
	int			n = OmenKernelsAvailable(sets);

	omen_kernels = *sets[n - 1];
}
