// Wilson score intervals and the Mann-Whitney AUC with DeLong's variance.
#include <algorithm>
#include <cmath>

#include "evaluate/evaluate.h"

namespace spinescreen::evaluate {

namespace {
constexpr double kZ95 = 1.959963984540054;
}

std::optional<Interval> wilson(long k, long n) {
  if (n <= 0 || k < 0 || k > n) return std::nullopt;
  const double p = static_cast<double>(k) / n;
  const double z2 = kZ95 * kZ95;
  const double denom = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denom;
  const double half = kZ95 * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom;
  return Interval{std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::optional<Auc> aucWithCi(const std::vector<double>& pos, const std::vector<double>& neg) {
  const size_t m = pos.size();
  const size_t n = neg.size();
  if (m == 0 || n == 0) return std::nullopt;
  auto psi = [](double x, double y) { return x > y ? 1.0 : (x == y ? 0.5 : 0.0); };
  std::vector<double> v10(m, 0.0), v01(n, 0.0);
  double total = 0.0;
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double s = psi(pos[i], neg[j]);
      v10[i] += s;
      v01[j] += s;
      total += s;
    }
  const double auc = total / (static_cast<double>(m) * n);
  for (auto& v : v10) v /= static_cast<double>(n);
  for (auto& v : v01) v /= static_cast<double>(m);
  double s10 = 0.0, s01 = 0.0;
  for (double v : v10) s10 += (v - auc) * (v - auc);
  for (double v : v01) s01 += (v - auc) * (v - auc);
  s10 = m > 1 ? s10 / (m - 1) : 0.0;
  s01 = n > 1 ? s01 / (n - 1) : 0.0;
  const double se = std::sqrt(s10 / m + s01 / n);
  return Auc{auc, {std::max(0.0, auc - kZ95 * se), std::min(1.0, auc + kZ95 * se)}};
}

}  // namespace spinescreen::evaluate
