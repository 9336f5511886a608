/* What bounds the trainer's sparse input layer on this CPU: core cycles per non-zero input
 * for the loops of src/train/tiles.rs, written out in C with the same shapes (56-float rows
 * of W1 and of its gradient, 100 images of 150 sorted pixels, values byte / 255).
 *
 *   cc -O2 -mavx512f -mfma -ffp-contract=off benches/probes/sparse_rows.c -o /tmp/probe
 *   /tmp/probe            # the cycles per TSC tick are measured first
 *
 * Timed with the TSC, best of 300 repetitions; the TSC's rate against the core clock comes
 * from a chain of dependent adds (one a cycle). Not part of the build or of the tests. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#define STRIDE 56
#define IMAGES 100
#define PIXELS 150
#define ENTRIES (IMAGES * PIXELS)

static float W[784 * STRIDE] __attribute__((aligned(64)));
static float G[784 * STRIDE] __attribute__((aligned(64)));
static float z[IMAGES][64] __attribute__((aligned(64)));
static float delta[IMAGES][64] __attribute__((aligned(64)));
static unsigned short idx[IMAGES][PIXELS];
static unsigned char val[IMAGES][PIXELS];
typedef struct { unsigned row; float value; } Entry;
static Entry slots[784 * IMAGES];
static size_t next[784];
static float divisor = 255.0f;

static int by_value(const void *a, const void *b) {
  return *(const unsigned short *)a - *(const unsigned short *)b;
}

/* The forward gather: z[im] += x * W[p] over the image's pixels, then (note) the entry noted
 * under its pixel for the gradient. */
static void gather(int im, int note) {
  __m512 a0 = _mm512_load_ps(z[im]), a1 = _mm512_load_ps(z[im] + 16), a2 = _mm512_load_ps(z[im] + 32);
  __m256 a3 = _mm256_load_ps(z[im] + 48);
  for (int e = 0; e < PIXELS; e++) {
    unsigned p = idx[im][e];
    const float *r = W + p * STRIDE;
    float x = (float)val[im][e] / divisor;
    if (note) { size_t at = next[p]++; slots[at].row = im; slots[at].value = x; }
    __m512 xv = _mm512_set1_ps(x);
    a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r), a0);
    a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r + 16), a1);
    a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r + 32), a2);
    a3 = _mm256_fmadd_ps(_mm256_set1_ps(x), _mm256_loadu_ps(r + 48), a3);
  }
  _mm512_store_ps(z[im], a0); _mm512_store_ps(z[im] + 16, a1); _mm512_store_ps(z[im] + 32, a2);
  _mm256_store_ps(z[im] + 48, a3);
}

/* The gradient in place: G[p] += x * delta[im] over the image's pixels. */
static void scatter(int im) {
  const float *d = delta[im];
  __m512 d0 = _mm512_load_ps(d), d1 = _mm512_load_ps(d + 16), d2 = _mm512_load_ps(d + 32);
  __m256 d3 = _mm256_load_ps(d + 48);
  for (int e = 0; e < PIXELS; e++) {
    float *r = G + idx[im][e] * STRIDE;
    float x = (float)val[im][e] / divisor;
    __m512 xv = _mm512_set1_ps(x);
    _mm512_storeu_ps(r, _mm512_fmadd_ps(xv, d0, _mm512_loadu_ps(r)));
    _mm512_storeu_ps(r + 16, _mm512_fmadd_ps(xv, d1, _mm512_loadu_ps(r + 16)));
    _mm512_storeu_ps(r + 32, _mm512_fmadd_ps(xv, d2, _mm512_loadu_ps(r + 32)));
    _mm256_storeu_ps(r + 48, _mm256_fmadd_ps(_mm256_set1_ps(x), d3, _mm256_loadu_ps(r + 48)));
  }
}

/* The gradient from the noted entries: each row summed in registers, stored once. */
static void sums(void) {
  for (int p = 0; p < 784; p++) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0;
    __m256 a3 = _mm256_setzero_ps();
    for (size_t at = (size_t)p * IMAGES; at < next[p]; at++) {
      const Entry *s = &slots[at];
      const float *d = delta[s->row];
      __m512 xv = _mm512_set1_ps(s->value);
      a0 = _mm512_fmadd_ps(xv, _mm512_load_ps(d), a0);
      a1 = _mm512_fmadd_ps(xv, _mm512_load_ps(d + 16), a1);
      a2 = _mm512_fmadd_ps(xv, _mm512_load_ps(d + 32), a2);
      a3 = _mm256_fmadd_ps(_mm256_set1_ps(s->value), _mm256_load_ps(d + 48), a3);
    }
    float *r = G + p * STRIDE;
    _mm512_storeu_ps(r, a0); _mm512_storeu_ps(r + 16, a1); _mm512_storeu_ps(r + 32, a2);
    _mm256_storeu_ps(r + 48, a3);
  }
}

/* One row's worth of memory traffic alone: 3 zmm + 1 ymm loads, or stores, per entry. */
static void loads_only(long n) {
  for (long i = 0; i < n; i++)
    __asm__ volatile("vmovups (%0),%%zmm10\n vmovups 64(%0),%%zmm11\n vmovups 128(%0),%%zmm12\n vmovups 192(%0),%%ymm13\n"
                     :: "r"(W) : "xmm10", "xmm11", "xmm12", "xmm13");
}
static void stores_only(long n) {
  for (long i = 0; i < n; i++)
    __asm__ volatile("vmovups %%zmm10,(%0)\n vmovups %%zmm11,64(%0)\n vmovups %%zmm12,128(%0)\n vmovups %%ymm13,192(%0)\n"
                     :: "r"(G) : "memory");
}

static double cycles_per_tick(void) {
  unsigned long x = 0, t0 = __rdtsc();
  for (long i = 0; i < 500000000; i++) __asm__ volatile("add $1, %0" : "+r"(x));
  return 500000000.0 / (double)(__rdtsc() - t0);
}

static void reset_notes(void) { for (int p = 0; p < 784; p++) next[p] = (size_t)p * IMAGES; }

int main(void) {
  srand(1);
  for (int i = 0; i < 784 * STRIDE; i++) W[i] = (rand() % 100) * 0.001f;
  for (int i = 0; i < IMAGES; i++) {
    for (int k = 0; k < STRIDE; k++) delta[i][k] = (rand() % 100 - 50) * 0.001f;
    /* 150 distinct pixels out of the 500 in the middle rows, as MNIST's ink mostly is. */
    unsigned short pool[500];
    for (int k = 0; k < 500; k++) pool[k] = (unsigned short)(150 + k);
    for (int e = 0; e < PIXELS; e++) {
      int k = e + rand() % (500 - e);
      unsigned short t = pool[e]; pool[e] = pool[k]; pool[k] = t;
      idx[i][e] = pool[e];
      val[i][e] = (unsigned char)(1 + rand() % 255);
    }
    qsort(idx[i], PIXELS, 2, by_value);
  }
  double cpt = cycles_per_tick();
  printf("core cycles per TSC tick: %.3f\n", cpt);
  const char *names[] = {"3 zmm + 1 ymm loads", "3 zmm + 1 ymm stores", "gather", "gather + note",
                         "scatter (zeroed first)", "sums of noted entries"};
  for (int mode = 0; mode < 6; mode++) {
    unsigned long best = ~0ul;
    for (int rep = 0; rep < 300; rep++) {
      reset_notes();
      if (mode == 5) for (int i = 0; i < IMAGES; i++) gather(i, 1);
      unsigned long t0 = __rdtsc();
      switch (mode) {
        case 0: loads_only(ENTRIES); break;
        case 1: stores_only(ENTRIES); break;
        case 2: for (int i = 0; i < IMAGES; i++) gather(i, 0); break;
        case 3: for (int i = 0; i < IMAGES; i++) gather(i, 1); break;
        case 4: for (int i = 0; i < 784 * STRIDE; i++) G[i] = 0; for (int i = 0; i < IMAGES; i++) scatter(i); break;
        case 5: sums(); break;
      }
      unsigned long t = __rdtsc() - t0;
      if (t < best) best = t;
    }
    printf("%-24s %5.2f core cycles per entry\n", names[mode], best * cpt / ENTRIES);
  }
  /* The two gradients must agree bit for bit: same products, same order, from +0. */
  static float kept[784 * STRIDE];
  reset_notes();
  for (int i = 0; i < IMAGES; i++) gather(i, 1);
  sums();
  for (int i = 0; i < 784 * STRIDE; i++) kept[i] = G[i];
  for (int i = 0; i < 784 * STRIDE; i++) G[i] = 0;
  for (int i = 0; i < IMAGES; i++) scatter(i);
  int differ = 0;
  for (int i = 0; i < 784 * STRIDE; i++) differ += kept[i] != G[i];
  printf("gradient entries that differ between the two ways: %d\n", differ);
  return differ != 0;
}
