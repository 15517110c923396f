/* wallclock.h - wall-clock milliseconds, for what outlives a process
 * (loop time, uv_now, starts again with each one). */
#ifndef TLSTRUNK_WALLCLOCK_H
#define TLSTRUNK_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
wallclock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
