#ifndef FEDNS_CLDNS_SHIM_H
#define FEDNS_CLDNS_SHIM_H
#include <ldns/ldns.h>
#endif
