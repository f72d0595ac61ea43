// The kernel floor of a scrape: read every file of a list, and nothing else.
//   floor LIST ITERATIONS
// prints, for open+read+close and for kept-open fds re-read with pread at offset 0, the median
// and p99 of one pass over all files, in microseconds.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char buf[65536];

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor LIST ITERATIONS\n"); return 2; }
    FILE *list = fopen(argv[1], "r");
    if (!list) { perror(argv[1]); return 1; }
    int iterations = atoi(argv[2]);
    char **paths = NULL; size_t n = 0, cap = 0; char line[4096];
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line) continue;
        if (n == cap) { cap = cap ? cap * 2 : 1024; paths = realloc(paths, cap * sizeof *paths); }
        paths[n++] = strdup(line);
    }
    fclose(list);
    double *open_read_close = malloc(iterations * sizeof(double));
    double *kept_pread = malloc(iterations * sizeof(double));
    int *fds = malloc(n * sizeof(int));
    long bytes = 0;
    for (int it = 0; it < iterations; it++) {
        double start = now_us();
        for (size_t i = 0; i < n; i++) {
            int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            ssize_t r = read(fd, buf, sizeof buf);
            if (r > 0) bytes += r;
            close(fd);
        }
        open_read_close[it] = now_us() - start;
    }
    for (size_t i = 0; i < n; i++) fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
    for (int it = 0; it < iterations; it++) {
        double start = now_us();
        for (size_t i = 0; i < n; i++) {
            if (fds[i] < 0) continue;
            ssize_t r = pread(fds[i], buf, sizeof buf, 0);
            if (r > 0) bytes += r;
        }
        kept_pread[it] = now_us() - start;
    }
    qsort(open_read_close, iterations, sizeof(double), cmp);
    qsort(kept_pread, iterations, sizeof(double), cmp);
    printf("files %zu\nopen_read_close_median_us %.1f\nopen_read_close_p99_us %.1f\n"
           "pread_median_us %.1f\npread_p99_us %.1f\nbytes %ld\n",
           n, open_read_close[iterations / 2], open_read_close[iterations * 99 / 100],
           kept_pread[iterations / 2], kept_pread[iterations * 99 / 100], bytes);
    return 0;
}
