/*
 * srtp_suites.h - the SRTP suites tlstrunk knows (RFC 4568 SDES names),
 * once, in our order of preference: config.c checks [media] srtp_suites
 * against this list, media/sdes.h numbers its suite table by it.
 */
#ifndef TLSTRUNK_SRTP_SUITES_H
#define TLSTRUNK_SRTP_SUITES_H

#define SRTP_SUITE_LIST(X) \
	X(AES_CM_128_HMAC_SHA1_80) \
	X(AES_CM_128_HMAC_SHA1_32) \
	X(AES_256_CM_HMAC_SHA1_80) \
	X(AES_256_CM_HMAC_SHA1_32) \
	X(AEAD_AES_128_GCM) \
	X(AEAD_AES_256_GCM)

#endif
