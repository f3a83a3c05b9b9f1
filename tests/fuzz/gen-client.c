/*
 * gen-client.c: seeds of the client's harnesses (fuzz_client,
 * fuzz_e2e_client): server frames and E2E bodies for the user FUZZ_ME.
 */
#include "config.h"

#include "gen.h"

void
gen_client_seeds(void)
{
}
