// Google Benchmark of the report reader: reports per second on the labelled corpus texts, and
// the whole join on a synthetic batch.
//   build/bench/textaudit_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include "textaudit/classifier.h"
#include "textaudit/corpus_score.h"

#ifndef SPINESCREEN_SOURCE_DIR
#define SPINESCREEN_SOURCE_DIR "."
#endif

using namespace spinescreen::textaudit;

static void BM_ClassifyCorpusReport(benchmark::State& state) {
  const auto corpus =
      readLabelledCorpus(std::string(SPINESCREEN_SOURCE_DIR) + "/tests/textaudit/corpus/dev.jsonl");
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(classifyReport(corpus[i].text));
    i = (i + 1) % corpus.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyCorpusReport);

static void BM_ClassifyLongReport(benchmark::State& state) {
  std::string text;
  for (int k = 0; k < 40; ++k)
    text += "The liver is normal. No lymphadenopathy. Mild degenerative change at L4/5. ";
  text += "There is a moderate wedge compression fracture of T12, new since 2021. Recommend DXA.";
  for (auto _ : state) benchmark::DoNotOptimize(classifyReport(text));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ClassifyLongReport);

BENCHMARK_MAIN();
