// Just enough of PNG to judge a browser screenshot: 8-bit RGB or RGBA,
// not interlaced, decoded to RGB pixels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace droplab::html_test {

struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb; // width * height * 3, row by row

  // Pixels that are neither white nor the page background (#f3f5f8): text,
  // lines, bars. A page that drew nothing has none.
  double ink_fraction() const;
  std::size_t pixels_of(std::uint8_t r, std::uint8_t g, std::uint8_t b) const;
  std::size_t distinct_colours() const;
};

// Throws std::runtime_error saying what is wrong with the file.
Image read_png(const std::string& path);

} // namespace droplab::html_test
