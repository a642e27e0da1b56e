/*
 * A child process for the Linux port's real-kernel tests: it maps two anonymous regions, 2 MiB aligned
 * and each its own VMA (a PROT_NONE gap keeps them from merging), writes every page of both, prints
 * one JSON line with their addresses, then keeps writing one byte per 4 KiB page of the hot region
 * every 50 ms and never touches the cold one again, until it is killed.
 *
 * Usage: touch-child HOT_MIB COLD_MIB
 * It never calls madvise: with THP enabled=madvise its memory is in small pages unless someone else
 * (the daemon) collapses it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HPAGE (2UL << 20)
#define PAGE 4096UL

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOT_MIB COLD_MIB\n", argv[0]);
    return 2;
  }
  size_t hot = strtoul(argv[1], NULL, 10) << 20;
  size_t cold = strtoul(argv[2], NULL, 10) << 20;
  size_t span = hot + HPAGE + cold + HPAGE;
  char *raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  char *h = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1));
  char *c = h + hot + HPAGE;
  if (mprotect(h, hot, PROT_READ | PROT_WRITE) != 0 || (cold > 0 && mprotect(c, cold, PROT_READ | PROT_WRITE) != 0)) {
    perror("mprotect");
    return 1;
  }
  memset(h, 1, hot);
  if (cold > 0) memset(c, 1, cold);
  printf("{\"hot\":%lu,\"hotBytes\":%zu,\"cold\":%lu,\"coldBytes\":%zu}\n", (unsigned long)h, hot, (unsigned long)c, cold);
  fflush(stdout);
  struct timespec nap = {0, 50 * 1000 * 1000};
  for (unsigned char round = 0;; round++) {
    for (size_t off = 0; off < hot; off += PAGE) h[off] = (char)round;
    nanosleep(&nap, NULL);
  }
}
