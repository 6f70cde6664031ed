#include "sim/report.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace unicache::sim {
namespace {

// Quotes a CSV field when it needs it.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Quotes a string for a gnuplot script.
std::string GnuplotString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string Table::Format() const {
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) width[c] = columns[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::ostringstream out;
  out << title << "\n";
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      out << (c == 0 ? "" : "  ") << cell << std::string(width[c] - cell.size(), ' ');
    }
    out << "\n";
  };
  line(columns);
  for (const auto& row : rows) line(row);
  return out.str();
}

Status Table::WriteCsv(const std::string& path) const {
  std::ofstream out(path);
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) out << (c == 0 ? "" : ",") << CsvField(cells[c]);
    out << "\n";
  };
  line(columns);
  for (const auto& row : rows) line(row);
  out.close();
  if (!out) return Internal("cannot write " + path);
  return Status::Ok();
}

Status DrawChart(const Table& table, const Chart& chart, const std::string& csv,
                 const std::string& png) {
  std::ostringstream script;
  script << "set terminal png size 1000,560\n"
         << "set output " << GnuplotString(png) << "\n"
         << "set datafile separator ','\n"
         << "set key autotitle columnhead\n"
         << "set title " << GnuplotString(chart.title) << "\n"
         << "set ylabel " << GnuplotString(chart.y_label) << "\n"
         << "set style data histogram\nset style histogram cluster gap 1\n"
         << "set style fill solid 0.8 border -1\nset key outside right\n"
         << "set xtics rotate by -20\nset grid ytics\n"
         << (chart.log_y ? "set logscale y\n" : "set yrange [0:*]\n") << "plot ";
  for (size_t i = 0; i < chart.series.size(); ++i) {
    script << (i == 0 ? "" : ", ") << GnuplotString(csv) << " using " << chart.series[i] + 1
           << (i == 0 ? ":xtic(" + std::to_string(chart.label + 1) + ")" : "") << " title "
           << GnuplotString(table.columns[chart.series[i]]);
  }
  script << "\n";
  FILE* gnuplot = popen("gnuplot 1>&2", "w");
  if (gnuplot == nullptr) return Unavailable("cannot run gnuplot");
  const std::string text = script.str();
  fwrite(text.data(), 1, text.size(), gnuplot);
  const int rc = pclose(gnuplot);
  if (rc != 0) {
    return Unavailable(WIFEXITED(rc) && WEXITSTATUS(rc) == 127
                           ? "gnuplot is not installed (Debian package gnuplot-nox)"
                           : "gnuplot failed to draw " + png);
  }
  return Status::Ok();
}

std::string Num(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, value);
  return buf;
}

}  // namespace unicache::sim
