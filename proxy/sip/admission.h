/*
 * admission.h - per-source admission: calls per second (token bucket),
 * concurrent calls per source and in total, and rate-limited refusal logs.
 */
#ifndef TLSTRUNK_ADMISSION_H
#define TLSTRUNK_ADMISSION_H

#include <sys/socket.h>

#include "core.h"

int admission_init(struct proxy *px);
void admission_free(struct proxy *px);
/* May a new call from src start now?  0, or the SIP status to refuse
 * it with (503) and *why. */
int admission_call_check(struct proxy *px, const struct sockaddr *src,
    const char **why);
/* A call from ip (as printed by admission_ip) started / ended. */
void admission_call_start(struct proxy *px, const char *ip);
void admission_call_end(struct proxy *px, const char *ip);
/* 1 when a refusal of src should be logged now (once a minute a source);
 * *suppressed gets how many were not logged since. */
int admission_log_due(struct proxy *px, const struct sockaddr *src,
    unsigned *suppressed);
/* The IP of sa, no port: the key of a source. */
const char *admission_ip(const struct sockaddr *sa, char *buf, size_t len);

#endif
