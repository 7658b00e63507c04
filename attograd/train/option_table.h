#pragma once
// OptionTable: a training program's options, declared once. Each row names an option's JSON key
// (its command-line flag is the key with '-' for '_': "weight_decay" is --weight-decay), its field
// in the program's options struct and the values it may take. From the one table come:
//   - to_json: the "train" object of the config every checkpoint of the run carries;
//   - from_json: the options a resumed run restores from it (a run keeps its own recipe; rows
//     marked may_change_on_resume take the command line's value when it is set);
//   - check: the refusal of a bad value before a run starts, naming the option and the value
//     ("--lr 0 is not a finite number > 0"), as a UsageError (exit 2).
//
//   ag::train::OptionTable<TrainOptions> table;
//   table.add("lr", &TrainOptions::lr, ag::train::above(0));
//   table.add("epochs", &TrainOptions::epochs, ag::train::at_least(1)).may_change_on_resume();
//   table.add("threads", &TrainOptions::threads, ag::train::in(0, 256), "0: all cores").not_saved();
//
// A field may also be reached through a generic function (it is called on const and non-const
// options), for options inside a nested struct:
//   table.add("maxlen", [](auto& o) -> auto& { return o.model.maxlen; }, at_least(1));

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "attograd/core/error.h"
#include "attograd/train/usage_error.h"

namespace ag::train {

/// Which ends of a range its values may take.
enum class Ends { Closed, OpenLow, OpenHigh, Open };

/// The numbers a numeric option may take. Floating-point values must also be finite.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  Ends ends = Ends::Closed;

  bool contains(double v) const {
    const bool open_low = ends == Ends::OpenLow || ends == Ends::Open;
    const bool open_high = ends == Ends::OpenHigh || ends == Ends::Open;
    return std::isfinite(v) && (open_low ? v > lo : v >= lo) && (open_high ? v < hi : v <= hi);
  }
  /// "> 0", ">= 1", "in (0, 1)", "in [0, 256]".
  std::string describe() const {
    const bool open_low = ends == Ends::OpenLow || ends == Ends::Open;
    const bool open_high = ends == Ends::OpenHigh || ends == Ends::Open;
    if (std::isinf(hi)) return fmt::format("{} {}", open_low ? ">" : ">=", lo);
    return fmt::format("in {}{}, {}{}", open_low ? "(" : "[", lo, hi, open_high ? ")" : "]");
  }
};

inline Range above(double lo) { return {lo, std::numeric_limits<double>::infinity(), Ends::OpenLow}; }
inline Range at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), Ends::Closed}; }
inline Range in(double lo, double hi, Ends ends = Ends::Closed) { return {lo, hi, ends}; }

/// The words a text option may take.
struct Choices {
  std::vector<std::string> words;
  bool contains(const std::string& v) const { return std::find(words.begin(), words.end(), v) != words.end(); }
  std::string describe() const { return fmt::format("one of {}", fmt::join(words, ", ")); }
};

template <class Options>
class OptionTable {
 public:
  /// One option. The setters return the row, so they chain after add().
  class Row {
   public:
    /// On --resume the command line's value wins over the run's when it differs from the struct's
    /// default (for example --epochs: where the resumed run ends).
    Row& may_change_on_resume() { return may_change_ = true, *this; }
    /// A config written before this option existed lacks it: the struct's default then.
    Row& optional() { return optional_ = true, *this; }
    /// Checked, but not part of the recipe a checkpoint keeps (--threads, or what the model config
    /// already holds).
    Row& not_saved() { return saved_ = false, *this; }
    const std::string& key() const { return key_; }
    std::string flag() const {
      std::string f = "--" + key_;
      std::replace(f.begin() + 2, f.end(), '_', '-');
      return f;
    }

   private:
    friend class OptionTable;
    std::string key_;
    bool may_change_ = false, optional_ = false, saved_ = true;
    std::function<void(const Options&, nlohmann::json&)> write_;
    std::function<void(const nlohmann::json&, Options&)> read_;
    std::function<bool(const Options&)> is_default_;  // does the field hold the struct's default?
    std::function<std::optional<std::string>(const Options&)> problem_;  // why the value is refused
  };

  /// A row for `field` (a member pointer, or a generic function from the options to the field's
  /// reference), with no limit on its values.
  template <class Field>
  Row& add(std::string key, Field field) {
    return add_row(std::move(key), field, [](const auto&) { return std::optional<std::string>(); });
  }

  /// A numeric option that must lie in `range`; `note` follows the error ("0: off").
  template <class Field>
  Row& add(std::string key, Field field, Range range, std::string note = "") {
    using T = FieldType<Field>;
    static_assert(std::is_arithmetic_v<T>, "a Range limits a numeric option");
    constexpr const char* kind = std::is_floating_point_v<T> ? "a finite number " : "";
    return add_row(std::move(key), field, [range, note, kind](const T& v) -> std::optional<std::string> {
      if (range.contains(static_cast<double>(v))) return std::nullopt;
      return fmt::format("{} is not {}{}{}", v, kind, range.describe(), note.empty() ? "" : " (" + note + ")");
    });
  }

  /// A text option that must be one of `choices`.
  template <class Field>
  Row& add(std::string key, Field field, Choices choices) {
    static_assert(std::is_same_v<FieldType<Field>, std::string>, "Choices limit a text option");
    return add_row(std::move(key), field, [choices](const std::string& v) -> std::optional<std::string> {
      if (choices.contains(v)) return std::nullopt;
      return fmt::format("{} is not {}", v, choices.describe());
    });
  }

  /// The saved options of `o`, keyed as in the table.
  nlohmann::json to_json(const Options& o) const {
    nlohmann::json j = nlohmann::json::object();
    for (const Row& row : rows_)
      if (row.saved_) row.write_(o, j);
    return j;
  }

  /// A resumed run's options: `given` with every saved option replaced by the run's (`j`), except
  /// those that may change on resume and are set in `given`. Raises ag::Error naming a key that is
  /// missing or of the wrong type.
  Options from_json(const nlohmann::json& j, const Options& given) const {
    ag::check(j.is_object(), "the run's options are not a JSON object: {}", j.dump());
    Options o = given;
    for (const Row& row : rows_) {
      if (!row.saved_ || (row.may_change_ && !row.is_default_(given))) continue;
      if (!j.contains(row.key_)) {
        ag::check(row.optional_, "the run's options have no \"{}\"", row.key_);
        row.read_(nlohmann::json(), o);  // null: the default
        continue;
      }
      try {
        row.read_(j.at(row.key_), o);
      } catch (const nlohmann::json::exception& e) {
        throw ag::Error(fmt::format("the run's option \"{}\" is {}, not a value it can take ({})", row.key_,
                                    j.at(row.key_).dump(), e.what()));
      }
    }
    return o;
  }

  /// Raises UsageError for the first option whose value is refused: "--lr 0 is not a finite number > 0".
  void check(const Options& o) const {
    for (const Row& row : rows_)
      if (std::optional<std::string> problem = row.problem_(o)) throw UsageError(row.flag() + " " + *problem);
  }

  const std::vector<Row>& rows() const { return rows_; }

 private:
  template <class Field>
  using FieldType = std::remove_cvref_t<std::invoke_result_t<Field, Options&>>;

  template <class Field, class Problem>
  Row& add_row(std::string key, Field field, Problem problem) {
    using T = FieldType<Field>;
    for (const Row& row : rows_) ag::check(row.key_ != key, "option \"{}\" is in the table twice", key);
    Row row;
    row.key_ = key;
    auto get = [field](const Options& o) -> const T& { return std::invoke(field, o); };
    T fallback = get(defaults_);
    row.write_ = [key, get](const Options& o, nlohmann::json& j) { j[key] = get(o); };
    row.read_ = [field, fallback](const nlohmann::json& v, Options& o) {
      std::invoke(field, o) = v.is_null() ? fallback : v.template get<T>();
    };
    row.is_default_ = [get, fallback](const Options& o) { return get(o) == fallback; };
    row.problem_ = [get, problem](const Options& o) { return problem(get(o)); };
    rows_.push_back(std::move(row));
    return rows_.back();
  }

  std::vector<Row> rows_;
  Options defaults_{};  // each field's default: what an absent optional key gives
};

}  // namespace ag::train
