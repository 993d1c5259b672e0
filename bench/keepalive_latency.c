// make bench: latency of sequential requests on one kept-alive connection, as an SDK asks for its
// token. libcurl reuses the connection of one easy handle; each request is timed on its own.
// Usage: keepalive_latency URL COUNT [HEADER...]; prints "p50_ms p99_ms" (after 100 warm-up
// requests; exit 1 if any request fails or the connection was not reused).
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t discard(char* data, size_t size, size_t count, void* user) {
  (void)data;
  (void)user;
  return size * count;
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: keepalive_latency URL COUNT [HEADER...]\n");
    return 2;
  }
  const int count = atoi(argv[2]);
  if (count < 1) return 2;
  CURL* curl = curl_easy_init();
  struct curl_slist* headers = NULL;
  for (int i = 3; i < argc; ++i) headers = curl_slist_append(headers, argv[i]);
  curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  double* ms = malloc(sizeof(double) * (size_t)count);
  long first_port = -1;
  for (int i = -100; i < count; ++i) {
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long status = 0;
    if (curl_easy_perform(curl) != CURLE_OK || curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
        status != 200) {
      fprintf(stderr, "keepalive_latency: request %d failed (HTTP %ld)\n", i, status);
      return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long port = 0;
    curl_easy_getinfo(curl, CURLINFO_LOCAL_PORT, &port);
    if (first_port < 0) first_port = port;
    if (port != first_port) {
      fprintf(stderr, "keepalive_latency: the server closed the connection (request %d)\n", i);
      return 1;
    }
    if (i >= 0) ms[i] = (double)(end.tv_sec - start.tv_sec) * 1e3 + (double)(end.tv_nsec - start.tv_nsec) / 1e6;
  }
  qsort(ms, (size_t)count, sizeof(double), by_value);
  printf("%.3f %.3f\n", ms[count / 2], ms[(count * 99) / 100]);
  free(ms);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return 0;
}
