#ifndef FEDNS_CLDNS_SHIM_H
#define FEDNS_CLDNS_SHIM_H
/* ldns falls back to `signed char` for bool unless stdbool.h came first; Swift then sees Int8. */
#include <stdbool.h>
#include <stdio.h>
#include <ldns/ldns.h>
#endif
