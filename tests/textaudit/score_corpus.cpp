// Scores the text classifier on a labelled corpus (tests/textaudit/corpus/*.jsonl): per-label
// precision, recall and F1, and with --errors every report it got wrong.
//   textaudit_score tests/textaudit/corpus/test.jsonl [--errors]
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "textaudit/corpus_score.h"

using namespace spinescreen::textaudit;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: textaudit_score CORPUS.jsonl [--errors]\n";
    return 2;
  }
  const bool showErrors = argc > 2 && std::string(argv[2]) == "--errors";
  try {
    const auto corpus = readLabelledCorpus(argv[1]);
    const CorpusScore score = scoreCorpus(corpus);
    std::cout << "reports: " << corpus.size() << "\n";
    std::cout << std::left << std::setw(34) << "label" << std::right << std::setw(6) << "n"
              << std::setw(6) << "tp" << std::setw(6) << "fp" << std::setw(6) << "fn"
              << std::setw(11) << "precision" << std::setw(8) << "recall" << std::setw(8) << "F1"
              << "\n";
    for (const auto& l : score.labels) {
      std::cout << std::left << std::setw(34) << l.name << std::right << std::setw(6) << l.tp + l.fn
                << std::setw(6) << l.tp << std::setw(6) << l.fp << std::setw(6) << l.fn
                << std::fixed << std::setprecision(3) << std::setw(11) << l.precision()
                << std::setw(8) << l.recall() << std::setw(8) << l.f1() << "\n";
    }
    std::cout << "vertebral_fracture exact (5 classes): " << score.statusCorrect << "/"
              << corpus.size() << "\n";
    std::cout << "levels exact, when both say a fracture is mentioned: " << score.levelsCorrect
              << "/" << score.levelsCompared << "\n";
    if (showErrors)
      for (const auto& e : score.errors) std::cout << "\n" << e << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
