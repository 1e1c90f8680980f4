// Vertebra labels: C1..C7, T1..T12 (T13 variant), L1..L5 (L6 variant), S1.
#pragma once

#include <optional>
#include <string>

namespace spinescreen {

// Position of a label along the column, cranial to caudal: C1=1 ... C7=7, T1=8 ... T12=19,
// L1=20 ... L5=24, S1=26 (the VerSe numbering, which also gives T13=28 and L6=25).
std::optional<int> verseNumber(const std::string& label);
std::optional<std::string> labelFromVerseNumber(int number);

// Ordinal along the standard column with no variants: C1=0 ... C7=6, T1=7 ... T12=18,
// L1=19 ... L5=23, S1=24. T13 sits between T12 and L1 (18.5) and L6 between L5 and S1 (23.5).
std::optional<double> columnOrdinal(const std::string& label);
// Label of a standard-column ordinal (0..24), or nullopt.
std::optional<std::string> labelFromOrdinal(int ordinal);

bool isValidLabel(const std::string& label);

}  // namespace spinescreen
