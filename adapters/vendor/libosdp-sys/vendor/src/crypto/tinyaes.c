/*
 * Copyright (c) 2021-2026 Siddharth Chandrasekaran <sidcha.dev@gmail.com>
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdint.h>
#include <stdlib.h>
#include <assert.h>

#include "tinyaes_src.h"

void osdp_crypt_setup()
{
}

void osdp_encrypt(uint8_t *key, uint8_t *iv, uint8_t *data, int len)
{
	struct AES_ctx aes_ctx;

	if (iv != NULL) {
		/* encrypt multiple block with AES in CBC mode */
		AES_init_ctx_iv(&aes_ctx, key, iv);
		AES_CBC_encrypt_buffer(&aes_ctx, data, len);
	} else {
		/* encrypt one block with AES in ECB mode */
		assert(len <= 16);
		AES_init_ctx(&aes_ctx, key);
		AES_ECB_encrypt(&aes_ctx, data);
	}
}

void osdp_decrypt(uint8_t *key, uint8_t *iv, uint8_t *data, int len)
{
	struct AES_ctx aes_ctx;

	if (iv != NULL) {
		/* decrypt multiple block with AES in CBC mode */
		AES_init_ctx_iv(&aes_ctx, key, iv);
		AES_CBC_decrypt_buffer(&aes_ctx, data, len);
	} else {
		/* decrypt one block with AES in ECB mode */
		assert(len <= 16);
		AES_init_ctx(&aes_ctx, key);
		AES_ECB_decrypt(&aes_ctx, data);
	}
}

/*
 * railgate patch: the secure channel's random numbers (the CP's and PD's challenges) come
 * from the kernel's CSPRNG. Upstream's tinyaes backend used rand(), which nothing seeds: every
 * start of the process sent the same challenges, so a recorded session could be replayed
 * after a restart. There is no fallback to anything predictable: if the kernel cannot give
 * random bytes, the process stops.
 */
#if defined(__linux__)
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

void osdp_fill_random(uint8_t *buf, int len)
{
	int off = 0;

	while (off < len) {
		ssize_t n = getrandom(buf + off, (size_t)(len - off), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "libosdp: getrandom failed (errno %d)\n", errno);
			abort();
		}
		off += (int)n;
	}
}
#else
#error "railgate's libosdp-sys builds the secure channel on Linux getrandom() only"
#endif

void osdp_crypt_teardown()
{
}