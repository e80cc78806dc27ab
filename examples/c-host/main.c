/* A host program in C that runs a BitShield model through the C API (include/bitshield.h) and the
 * x86-64 (or aarch64) Linux library: reads a .bsm model file (its container: header, CRC-32s, zlib) and
 * an IDX image file (raw or gzip), and prints the predicted class of each image, one per line.
 *
 *   cc -O2 -Iinclude examples/c-host/main.c .build-lib/x86_64-linux/libbitshield.a -lz -o bitshield-host
 *   ./bitshield-host MODEL.bsm IMAGES.idx[.gz] [LIMIT]
 *
 * Exit status: 0, 1 on a failure (a message on stderr), 64 on bad usage. The runtime validates the
 * image itself (bitshield_init); this file only unpacks the container around it (spec/FORMAT.md,
 * "The .bsm container"), checking its sizes and CRC-32s (the SHA-256 is left to the Swift tools).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "bitshield.h"

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* Reads the whole file at `path` (at most `cap` bytes) into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t cap, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, room = 0;
    for (;;) {
        if (n == room) {
            if (room >= cap) { free(buf); fclose(f); errno = EFBIG; return NULL; }
            room = room ? room * 2 : 1 << 16;
            if (room > cap) room = cap;
            uint8_t *b = realloc(buf, room);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
        }
        size_t got = fread(buf + n, 1, room - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *size = n;
    return buf;
}

/* The model image inside a .bsm file, 64-byte aligned (the image's own alignment), or NULL after a message. */
static uint8_t *load_model(const char *path, size_t *image_bytes) {
    size_t size;
    uint8_t *file = read_file(path, 64 + (1u << 20) + (64u << 20) + 1024, &size);
    if (!file) { fprintf(stderr, "error: cannot read model %s\n", path); return NULL; }
    uint8_t *image = NULL;
    if (size < 64 || memcmp(file, "BSM1", 4) != 0) {
        fprintf(stderr, "error: %s is not a .bsm model file (%zu bytes, no BSM1 magic)\n", path, size);
        goto done;
    }
    uint32_t version = file[4] | file[5] << 8, flags = file[6] | file[7] << 8;
    uint32_t meta = le32(file + 8), stored = le32(file + 16), bytes = le32(file + 24);
    if (version != 1 || flags > 1 || meta > (1u << 20) || bytes > (64u << 20) || stored > (64u << 20) + 1024
        || size != 64 + (size_t)meta + stored) {
        fprintf(stderr, "error: %s: container version %u, flags %u, metadata %u, stored %u, image %u bytes, file %zu bytes: not a valid .bsm\n",
                path, version, flags, meta, stored, bytes, size);
        goto done;
    }
    const uint8_t *s = file + 64 + meta;
    if (crc32(0, file + 64, meta) != le32(file + 12) || crc32(0, s, stored) != le32(file + 20)) {
        fprintf(stderr, "error: %s: CRC-32 mismatch in the metadata or the stored image\n", path);
        goto done;
    }
    image = aligned_alloc(64, ((size_t)bytes + 63) / 64 * 64 + 64);
    if (!image) { fprintf(stderr, "error: out of memory for a %u-byte image\n", bytes); goto done; }
    uLongf produced = bytes;
    if (flags & 1) {
        uLong consumed = stored;
        int z = uncompress2(image, &produced, s, &consumed);
        if (z != Z_OK || produced != bytes || consumed != stored) {
            fprintf(stderr, "error: %s: the zlib stream does not inflate to exactly %u bytes (zlib %d, %lu bytes)\n",
                    path, bytes, z, (unsigned long)produced);
            free(image); image = NULL; goto done;
        }
    } else if (stored != bytes) {
        fprintf(stderr, "error: %s: stored image of %u bytes, header says %u\n", path, stored, bytes);
        free(image); image = NULL; goto done;
    } else {
        memcpy(image, s, bytes);
    }
    if (crc32(0, image, bytes) != le32(file + 28)) {
        fprintf(stderr, "error: %s: CRC-32 mismatch in the image\n", path);
        free(image); image = NULL; goto done;
    }
    *image_bytes = bytes;
done:
    free(file);
    return image;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.bsm IMAGES.idx[.gz] [LIMIT]\n", argv[0]);
        return 64;
    }
    long limit = -1;
    if (argc == 4) {
        char *end;
        limit = strtol(argv[3], &end, 10);
        if (*end || limit < 0) { fprintf(stderr, "error: LIMIT '%s' is not a count\n", argv[3]); return 64; }
    }
    if (bitshield_api_version() != BITSHIELD_API_VERSION) {
        fprintf(stderr, "error: library API version %u, header %d\n", bitshield_api_version(), BITSHIELD_API_VERSION);
        return 1;
    }
    size_t image_bytes;
    uint8_t *image = load_model(argv[1], &image_bytes);
    if (!image) return 1;

    bitshield_error error;
    char message[512];
    size_t arena_bytes;
    if (bitshield_arena_bytes(image, image_bytes, BITSHIELD_KERNELS_OPTIMIZED, &arena_bytes, &error) != BITSHIELD_OK) {
        bitshield_error_message(&error, message, sizeof message);
        return fail(argv[1], message);
    }
    void *arena = aligned_alloc(16, (arena_bytes + 15) / 16 * 16 + 16);
    static bitshield_model model;
    if (!arena) return fail("out of memory for the arena", NULL);
    if (bitshield_init(&model, image, image_bytes, arena, arena_bytes, BITSHIELD_KERNELS_OPTIMIZED, &error) != BITSHIELD_OK) {
        bitshield_error_message(&error, message, sizeof message);
        return fail(argv[1], message);
    }
    bitshield_footprint fp;
    bitshield_footprint_of(&model, &fp);

    /* The IDX file: u8 data, 3 dimensions (N, rows, cols) or 4 (N, rows, cols, channels), big-endian sizes. */
    gzFile idx = gzopen(argv[2], "rb");
    if (!idx) { fprintf(stderr, "error: cannot open images %s\n", argv[2]); return 1; }
    uint8_t head[20];
    if (gzread(idx, head, 4) != 4 || head[0] || head[1] || head[2] != 0x08 || head[3] < 3 || head[3] > 4) {
        fprintf(stderr, "error: %s is not an IDX file of u8 images (3 or 4 dimensions)\n", argv[2]);
        return 1;
    }
    int dims = head[3];
    if (gzread(idx, head + 4, 4 * dims) != 4 * dims) { fprintf(stderr, "error: %s: truncated IDX header\n", argv[2]); return 1; }
    uint64_t count = be32(head + 4), per = 1;
    for (int d = 1; d < dims; d++) per *= be32(head + 4 + 4 * d);
    if (per != fp.input_bytes) {
        fprintf(stderr, "error: %s has images of %llu bytes, the model takes %llu\n", argv[2],
                (unsigned long long)per, (unsigned long long)fp.input_bytes);
        return 1;
    }
    if (limit >= 0 && (uint64_t)limit < count) count = (uint64_t)limit;
    uint8_t *pixels = malloc(per);
    if (!pixels) return fail("out of memory for an image", NULL);
    for (uint64_t i = 0; i < count; i++) {
        if (gzread(idx, pixels, (unsigned)per) != (int)per) {
            fprintf(stderr, "error: %s ends inside image %llu\n", argv[2], (unsigned long long)i);
            return 1;
        }
        int32_t cls = bitshield_invoke(&model, pixels, NULL);
        if (cls < 0) { fprintf(stderr, "error: invoke failed with code %d\n", -cls); return 1; }
        printf("%d\n", cls);
    }
    gzclose(idx);
    free(pixels);
    free(arena);
    free(image);
    return 0;
}
