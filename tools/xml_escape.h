/* SPDX-License-Identifier: MIT */
/* Text into SVG/XML: the five characters markup gives meaning to, escaped. */
#ifndef PINMM_TOOLS_XML_ESCAPE_H
#define PINMM_TOOLS_XML_ESCAPE_H

#include <stdio.h>

static inline void xml_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: fputc(*s, out);
		}
	}
}

#endif
