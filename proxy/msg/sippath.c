/* sippath.c - the side names, once. */
#include "sippath.h"

const char *const sip_side_name[2] = { "pbx", "cloud" };
