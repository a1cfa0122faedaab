/*
 * fuzz_sha256.c - sha256.c against OpenSSL's SHA256().
 *
 * INPUT
 *	The first octet picks how the rest is cut into pieces for
 *	sha256_update() (streaming must not change the digest); the rest is
 *	the message.
 *
 * INVARIANTS (abort on violation)
 *	- the digest equals libcrypto's one-shot SHA256() of the message;
 *	- never crashes (ASan/UBSan).
 */
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char ours[SHA256_LEN], ref[SHA256_LEN];
	struct sha256 c;
	size_t step, off = 0;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 97 + 1;
	data++, size--;
	sha256_init(&c);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		sha256_update(&c, data + off, n);
		off += n;
		step = step * 7 % 131 + 1;
	}
	sha256_final(&c, ours);
	SHA256(data, size, ref);
	if (memcmp(ours, ref, sizeof ref) != 0) {
		fprintf(stderr, "digest differs for %zu octets\n", size);
		abort();
	}
	return 0;
}
