// A scenario's results as the user sees them: a table on the terminal, a CSV file, a PNG chart
// drawn by gnuplot, and the headline figures as one JSON object.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace unicache::sim {

// Rows of named columns. Value type.
struct Table {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  // Returns the table aligned in columns, its title first.
  std::string Format() const;
  // Writes the table as CSV (a header line, then one line per row) to `path`.
  Status WriteCsv(const std::string& path) const;
};

// A bar chart of one table: the bar labels from column `label`, one bar series per column in
// `series` (numbers). `log_y` draws the values on a log scale.
struct Chart {
  std::string title;
  std::string y_label;
  size_t label = 0;
  std::vector<size_t> series;
  bool log_y = false;
};

// Draws `chart` of `table` into `png` with gnuplot (the data go through `csv`, which must have
// been written by table.WriteCsv). Returns Unavailable naming the package when gnuplot is not
// installed.
Status DrawChart(const Table& table, const Chart& chart, const std::string& csv,
                 const std::string& png);

// Returns `value` printed with `digits` significant digits.
std::string Num(double value, int digits = 4);

}  // namespace unicache::sim
