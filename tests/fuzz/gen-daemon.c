/*
 * gen-daemon.c: seeds of the daemon's harnesses (fuzz_broker, fuzz_worker):
 * real frame sequences a worker or a broker would send.
 */
#include "config.h"

#include "gen.h"

void
gen_daemon_seeds(void)
{
}
