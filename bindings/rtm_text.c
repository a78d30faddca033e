// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtm_text.c: route changes in ip's words, read from a batch file.
 *
 * A batch file of a million routes is mostly lines of one shape:
 *
 *   route add 10.0.0.0/24 via 192.0.2.1 dev eth0 table 100 metric 10 proto bgp
 *   |     |   |           |   ^ value  |   ^ value         (any order, each once)
 *   |     |   |           +-- key words: via, dev, table, metric, proto
 *   |     |   +-- prefix: an IPv4 or IPv6 literal, with or without /len
 *   |     +-- verb: add, replace, change, append, del/delete
 *   +-- the group word
 *
 * rtm_text_routes() reads such lines straight into struct rtm_line, which
 * rtm_batch_add_line() packs into a batch: no per-line work in the caller's
 * language.  The words themselves are the caller's (struct rtm_words, sorted
 * by kind and text): the shell hands over what its grammar accepts (command
 * words, key words and their aliases, device, table and protocol names), so
 * this file knows the shape of a line, never its vocabulary.
 *
 * Anything else is declined, never refused: a line this file does not take
 * (another shape, an unknown word, an abbreviation, a number in another
 * base, a value out of range, host bits set, a repeated key) stops the scan
 * at its start, and the caller's full grammar reads it, and words its error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rtm.h"

#define RTM_TOKENS_MAX	16

struct token {
	const char	*text;
	size_t		len;
};

static int word_cmp(const void *key, const void *elem)
{
	const struct rtm_word *a = key, *b = elem;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->text, b->text);
}

/* The value of a word of a kind, or -1 when the caller gave no such word. */
static int64_t lookup(const struct rtm_words *words, uint8_t kind,
		      const struct token *tok)
{
	struct rtm_word key;
	const struct rtm_word *hit;

	if (tok->len >= sizeof(key.text))
		return -1;
	memcpy(key.text, tok->text, tok->len);
	key.text[tok->len] = '\0';
	key.kind = kind;
	hit = bsearch(&key, words->words, words->count, sizeof(*hit), word_cmp);
	return hit ? (int64_t)hit->value : -1;
}

/* A decimal number in canonical form (no sign, no leading zero) up to max, or -1. */
static int64_t number(const struct token *tok, uint64_t max)
{
	uint64_t n = 0;
	size_t i;

	if (!tok->len || tok->len > 10 || (tok->len > 1 && tok->text[0] == '0'))
		return -1;
	for (i = 0; i < tok->len; i++) {
		if (tok->text[i] < '0' || tok->text[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(tok->text[i] - '0');
	}
	return n <= max ? (int64_t)n : -1;
}

/* A table or protocol: one of the caller's names, or a number up to max; -1 if neither. */
static int64_t name_or_number(const struct rtm_words *words, uint8_t kind,
			      const struct token *tok, uint64_t max)
{
	int64_t v = lookup(words, kind, tok);

	return v >= 0 ? v : number(tok, max);
}

/* An address literal of either family into buf; its family, or 0. */
static int address(const struct token *tok, uint8_t *buf)
{
	char text[INET6_ADDRSTRLEN];

	if (!tok->len || tok->len >= sizeof(text))
		return 0;
	memcpy(text, tok->text, tok->len);
	text[tok->len] = '\0';
	if (inet_pton(AF_INET, text, buf) == 1)
		return AF_INET;
	if (strchr(text, ':') && inet_pton(AF_INET6, text, buf) == 1)
		return AF_INET6;
	return 0;
}

/* 'ADDR' or 'ADDR/LEN' with no host bits set into the route's dst; 0 or -1. */
static int prefix(const struct token *tok, struct rtm_route *r)
{
	const char *slash = memchr(tok->text, '/', tok->len);
	struct token addr = { tok->text, slash ? (size_t)(slash - tok->text) : tok->len };
	size_t alen, i;
	int64_t plen;

	r->family = (uint8_t)address(&addr, r->dst);
	alen = rtm_family_addr_len(r->family);
	if (!alen)
		return -1;
	plen = (int64_t)alen * 8;
	if (slash) {
		struct token len = { slash + 1, tok->len - addr.len - 1 };

		plen = number(&len, alen * 8);
		if (plen < 0)
			return -1;
	}
	r->dst_len = (uint8_t)plen;
	for (i = 0; i < alen; i++) {	/* host bits: the grammar says which network was meant */
		int keep = plen >= 8 * (int64_t)(i + 1) ? 8 : plen > 8 * (int64_t)i ? (int)(plen - 8 * i) : 0;

		if (r->dst[i] & (uint8_t)~(0xff00 >> keep))
			return -1;
	}
	return 0;
}

/* The tokens of one line (space or tab apart); their count, or -1 for a
 * character the grammar treats specially (quotes, comments, '?', '|') or
 * too many words. */
static int tokenize(const char *line, size_t len, struct token *toks)
{
	int n = 0;
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (n == RTM_TOKENS_MAX)
			return -1;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t') {
			unsigned char c = (unsigned char)line[i];

			if (c < 0x21 || c > 0x7e || strchr("\"'#?|\\;", c))
				return -1;
			i++;
		}
		toks[n].text = line + start;
		toks[n].len = i - start;
		n++;
	}
	return n;
}

static int key_value(const struct rtm_words *words, int key,
		     const struct token *val, struct rtm_line *out)
{
	struct rtm_route *r = &out->route;
	int64_t v;

	switch (key) {
	case RTM_KEY_VIA:
		if (address(val, r->gateway) != r->family)
			return -1;	/* not an address, or of the other family */
		r->has_gw = 1;
		return 0;
	case RTM_KEY_DEV:
		v = lookup(words, RTM_WORD_DEV, val);
		if (v <= 0)
			return -1;
		r->oif = (uint32_t)v;
		r->has_oif = 1;
		return 0;
	case RTM_KEY_TABLE:
		v = name_or_number(words, RTM_WORD_TABLE, val, UINT32_MAX);
		if (v <= 0)
			return -1;
		r->table = (uint32_t)v;
		return 0;
	case RTM_KEY_METRIC:
		v = number(val, UINT32_MAX);
		if (v < 0)
			return -1;
		r->metric = (uint32_t)v;
		r->has_metric = 1;
		return 0;
	case RTM_KEY_PROTO:
		v = name_or_number(words, RTM_WORD_PROTO, val, UINT8_MAX);
		if (v < 0)
			return -1;
		r->proto = (uint8_t)v;
		return 0;
	}
	return -1;
}

/* One line into out: 1 taken, 0 blank or a comment, -1 declined. */
static int read_line(const char *line, size_t len, const struct rtm_words *words,
		     struct rtm_line *out)
{
	struct token toks[RTM_TOKENS_MAX];
	struct rtm_route *r = &out->route;
	unsigned int seen = 0;
	int64_t verb;
	int n, i;

	for (i = 0; (size_t)i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if ((size_t)i == len || line[i] == '#')
		return 0;
	n = tokenize(line, len, toks);
	if (n < 3 || lookup(words, RTM_WORD_GROUP, &toks[0]) < 0)
		return -1;
	verb = lookup(words, RTM_WORD_VERB, &toks[1]);
	if (verb < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->verb = (uint8_t)verb;
	if (prefix(&toks[2], r) < 0)
		return -1;
	r->table = words->table_main;
	for (i = 3; i < n; i += 2) {
		int64_t key = lookup(words, RTM_WORD_KEY, &toks[i]);

		if (key < 0 || i + 1 == n || (seen & (1u << key)))
			return -1;
		seen |= 1u << key;
		if (key_value(words, (int)key, &toks[i + 1], out) < 0)
			return -1;
	}
	if (out->verb == RTM_VERB_DELETE) {
		r->type = RTMGR_TYPE_UNSPEC;	/* what is given must match; nothing else */
	} else {
		if (!r->has_gw && !r->has_oif)
			return -1;	/* the grammar says what a unicast route needs */
		r->type = RTMGR_TYPE_UNICAST;
		if (!(seen & (1u << RTM_KEY_PROTO)))
			r->proto = words->proto_default;
	}
	return 1;
}

size_t rtm_text_routes(const void *buf, size_t len, size_t *pos, uint32_t *line_no,
		       const struct rtm_words *words, struct rtm_line *out, size_t max)
{
	const char *text = buf;
	size_t n = 0;

	while (n < max && *pos < len) {
		const char *line = text + *pos;
		const char *nl = memchr(line, '\n', len - *pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - *pos;
		int got = read_line(line, line_len, words, &out[n]);

		if (got < 0)
			break;	/* the caller's grammar reads this one */
		if (got > 0) {
			out[n].number = *line_no;
			out[n].start = (uint32_t)*pos;
			out[n].len = (uint32_t)line_len;
			n++;
		}
		*pos += line_len + (nl ? 1 : 0);
		(*line_no)++;
	}
	return n;
}

int rtm_batch_add_line(struct rtm_batch *batch, uint16_t type, uint16_t flags,
		       uint32_t seq, const struct rtm_line *line, int has_metric)
{
	const struct rtm_route *r = &line->route;

	return rtm_batch_add_hop(batch, type, flags, seq, r->family, r->dst_len,
				 r->type, r->proto, r->table, r->dst,
				 r->has_gw ? r->gateway : NULL, r->oif, r->has_oif,
				 r->metric, has_metric);
}
