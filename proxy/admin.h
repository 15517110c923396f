/* admin.h - the operator's HTTP listener: /metrics and /healthz. */
#ifndef TLSTRUNK_ADMIN_H
#define TLSTRUNK_ADMIN_H

#include "proxy.h"

/* Listen on [general] admin_listen (no-op when off). */
int admin_listen(struct proxy *px);
void admin_close(struct proxy *px);

#endif
