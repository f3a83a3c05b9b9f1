/*
 * protodump.c: print the protocol as the code defines it (message tables,
 * fields, error classes, phases) in a plain line format, for
 * check-docs.pl to compare with docs/PROTOCOL.md.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static const char *const kind_names[] = {
	[FK_U8] = "u8", [FK_U16] = "u16", [FK_U32] = "u32", [FK_U64] = "u64",
	[FK_STR] = "str", [FK_BYTES] = "bytes",
};

/* The table a type is defined in, and who sends it. */
static const struct msg_spec *
spec_of(uint16_t t, const char **dir)
{
	const struct msg_spec	*c = proto_client_spec(t);
	const struct msg_spec	*s = proto_server_spec(t);

	if (c != NULL && s != NULL) {
		*dir = "either";
		return c;
	}
	if (c != NULL) {
		*dir = "client";
		return c;
	}
	if (s != NULL) {
		*dir = "server";
		return s;
	}
	if ((c = proto_worker_spec(t)) != NULL) {
		*dir = "worker";
		return c;
	}
	if ((s = proto_broker_spec(t)) != NULL) {
		*dir = "broker";
		return s;
	}
	if ((c = proto_ctl_spec(t)) != NULL) {
		*dir = "ctl";
		return c;
	}
	if ((c = proto_keylink_spec(t)) != NULL) {
		*dir = "keylink";
		return c;
	}
	if ((s = proto_keyproc_spec(t)) != NULL) {
		*dir = "keyproc";
		return s;
	}
	*dir = "internal";
	return NULL;
}

static uint16_t	 types[1024];
static size_t	 ntypes;

/* The kind of a tag, from the first message that carries it. */
static const char *
tag_kind(uint16_t tag)
{
	const struct msg_spec	*m;
	const char		*dir;
	size_t			 t, i;

	for (t = 0; t < ntypes; t++) {
		if ((m = spec_of(types[t], &dir)) == NULL)
			continue;
		for (i = 0; i < m->nfields; i++)
			if (m->fields[i].tag == tag)
				return kind_names[m->fields[i].kind];
	}
	return "-";
}

int
main(void)
{
	static const char *const phases[] = {
		[PHASE_GREETING] = "greeting", [PHASE_ACCOUNT] = "account",
		[PHASE_CHAT] = "chat",
	};
	const struct msg_spec	*m;
	const struct field_spec	*fs;
	const char		*dir, *name;
	uint32_t		 t;
	size_t			 i;
	int			 p;

	for (t = 0; t <= 0xffff; t++) {
		if (strcmp(name = proto_msg_name((uint16_t)t), "UNKNOWN") == 0)
			continue;
		if (ntypes == sizeof(types) / sizeof(types[0]))
			return 1;
		types[ntypes++] = (uint16_t)t;
		m = spec_of((uint16_t)t, &dir);
		printf("msg 0x%04x %s %s\n", t, name, dir);
		for (i = 0; m != NULL && i < m->nfields; i++) {
			fs = &m->fields[i];
			printf("field %s %s %s %s %u\n", name,
			    proto_field_name(fs->tag), kind_names[fs->kind],
			    fs->required ? "req" : "opt",
			    fs->kind == FK_STR || fs->kind == FK_BYTES ?
			    fs->max_len : 0);
		}
		for (p = PHASE_GREETING; p <= PHASE_CHAT; p++)
			if (proto_client_spec((uint16_t)t) != NULL &&
			    proto_phase_permits(p, (uint16_t)t))
				printf("phase %s %s\n", phases[p], name);
	}
	for (t = 0; t <= 0xffff; t++)
		if (strcmp(name = proto_field_name((uint16_t)t), "UNKNOWN") != 0)
			printf("tag 0x%04x %s %s\n", t, name,
			    tag_kind((uint16_t)t));
	for (t = 0; t <= 0xffff; t++)
		if (strcmp(name = proto_err_name((uint16_t)t), "UNKNOWN") != 0)
			printf("error %u %s %s\n", t, name,
			    proto_err_is_fatal((uint16_t)t) ? "yes" : "no");
	printf("ceiling %u\n", FRAME_MAX_CEILING);
	return ferror(stdout) ? 1 : 0;
}
