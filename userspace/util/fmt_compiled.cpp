// {fmt}, compiled once. Debian's libfmt-dev ships no static library, and in header-only mode
// every file that formats compiled fmt's formatting core again (up to half of such a file's
// compile time). Here format-inl.h gives the out-of-line definitions (FMT_FUNC is empty without
// FMT_HEADER_ONLY), and the templates format.h declares extern are instantiated for char.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void vformat_to(buffer<char> &, string_view,
                                 basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);

} // namespace detail
FMT_END_NAMESPACE
