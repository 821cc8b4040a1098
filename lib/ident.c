// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <net/if.h>
#include <string.h>

#include "ident.h"
#include "util.h"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ident_task_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (n == 0 || n > IDENT_TASK_ID_MAX || !is_alnum(id[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(id[i]) && id[i] != '_' && id[i] != '.' && id[i] != '-')
			return false;
	return true;
}

bool ident_ifname_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n >= IFNAMSIZ || streq(name, ".") || streq(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		/* The kernel takes a name with '%' as a pattern and picks the name itself. */
		if (c == '/' || c == ':' || c == '%' || isspace(c) || c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

bool ident_instance_valid(const char *s)
{
	if (!s || strlen(s) != IDENT_INSTANCE_LEN)
		return false;
	for (size_t i = 0; i < IDENT_INSTANCE_LEN; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

bool ident_holder_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > IDENT_HOLDER_MAX || !is_alnum(name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(name[i]) && !strchr("_.:@-", name[i]))
			return false;
	return true;
}
