// The one JSON writer, for the events (compact, one per line, appended to a string the caller
// reuses, without building a tree: nlohmann::json built a tree per event and was the first cost
// when events came fast) and the summary report (pretty-printed). Output is as nlohmann's dump:
// strings that are not valid UTF-8 get U+FFFD per invalid byte sequence (as nlohmann's
// error_handler_t::replace), control characters are escaped, everything else stays as it is.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace freezeprobe {

// Appends s to out as a quoted JSON string.
void append_json_string(std::string &out, std::string_view s);

class JsonWriter {
  public:
    explicit JsonWriter(std::string &out) : out_(out) {}
    // Pretty-printed with this many spaces per level, as nlohmann's dump(indent) (the reports);
    // the events stay compact.
    JsonWriter(std::string &out, int indent) : out_(out), indent_(indent) {}

    JsonWriter &begin_object() { return open('{'); }
    JsonWriter &end_object() { return close('}'); }
    JsonWriter &begin_array() { return open('['); }
    JsonWriter &end_array() { return close(']'); }
    // name is one of our own keys: plain ASCII, written as it is.
    JsonWriter &key(std::string_view name);

    JsonWriter &value(std::string_view s);
    JsonWriter &value(const char *s) { return value(std::string_view(s)); }
    JsonWriter &value(const std::string &s) { return value(std::string_view(s)); }
    JsonWriter &null();
    template <typename T> JsonWriter &value(T number) {
        static_assert(std::is_integral_v<T>, "numbers are integers");
        separate();
        if constexpr (std::is_same_v<T, bool>) {
            out_ += number ? "true" : "false";
        } else {
            char digits[24];
            out_.append(digits, std::to_chars(digits, digits + sizeof digits, number).ptr);
        }
        return *this;
    }
    template <typename T> JsonWriter &value(const std::optional<T> &v) {
        return v ? value(*v) : null();
    }

  private:
    JsonWriter &open(char bracket);
    JsonWriter &close(char bracket);
    // A comma before every element of an object or array but the first; none after a key.
    void separate();
    // Pretty mode: a new line at the current depth.
    void new_line();

    std::string &out_;
    bool first_ = true;      // the next element is the first of its object or array
    bool after_key_ = false; // the next element is a key's value
    int indent_ = 0;         // 0: compact
    int depth_ = 0;
};

} // namespace freezeprobe
