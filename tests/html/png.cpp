#include "png.hpp"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unordered_set>

namespace droplab::html_test {
namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

std::uint8_t paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return static_cast<std::uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

} // namespace

Image read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::uint8_t> f((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (f.size() < 8 || !std::equal(sig, sig + 8, f.begin()))
    throw std::runtime_error(path + ": not a PNG");
  Image img;
  int channels = 0;
  std::vector<std::uint8_t> idat;
  bool ended = false;
  for (std::size_t at = 8; at + 12 <= f.size() && !ended;) {
    std::uint32_t len = be32(&f[at]);
    std::string type(f.begin() + static_cast<long>(at) + 4, f.begin() + static_cast<long>(at) + 8);
    if (at + 12 + len > f.size()) throw std::runtime_error(path + ": truncated " + type + " chunk");
    const std::uint8_t* data = &f[at + 8];
    if (type == "IHDR") {
      img.width = be32(data);
      img.height = be32(data + 4);
      if (data[8] != 8 || (data[9] != 2 && data[9] != 6) || data[12] != 0) {
        throw std::runtime_error(path + ": only 8-bit RGB/RGBA, non-interlaced PNGs are read here");
      }
      channels = data[9] == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + len);
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  if (!channels || !ended) throw std::runtime_error(path + ": no IHDR or no IEND chunk");
  const std::size_t stride = std::size_t{img.width} * static_cast<std::size_t>(channels);
  std::vector<std::uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = static_cast<uLongf>(raw.size());
  if (::uncompress(raw.data(), &raw_len, idat.data(), static_cast<uLong>(idat.size())) != Z_OK ||
      raw_len != raw.size()) {
    throw std::runtime_error(path + ": image data does not inflate to " +
                             std::to_string(raw.size()) + " bytes");
  }
  std::vector<std::uint8_t> prev(stride, 0), cur(stride);
  img.rgb.reserve(std::size_t{img.width} * img.height * 3);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t* row = &raw[y * (stride + 1)];
    for (std::size_t i = 0; i < stride; ++i) {
      int a = i >= static_cast<std::size_t>(channels) ? cur[i - channels] : 0, b = prev[i];
      int c = i >= static_cast<std::size_t>(channels) ? prev[i - channels] : 0;
      int x = row[1 + i];
      switch (row[0]) {
      case 0: break;
      case 1: x += a; break;
      case 2: x += b; break;
      case 3: x += (a + b) / 2; break;
      case 4: x += paeth(a, b, c); break;
      default: throw std::runtime_error(path + ": bad filter type on row " + std::to_string(y));
      }
      cur[i] = static_cast<std::uint8_t>(x);
    }
    for (std::size_t px = 0; px < img.width; ++px) {
      img.rgb.insert(img.rgb.end(), &cur[px * channels], &cur[px * channels] + 3);
    }
    std::swap(prev, cur);
  }
  return img;
}

double Image::ink_fraction() const {
  std::size_t ink = 0, n = rgb.size() / 3;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = &rgb[i * 3];
    bool white = p[0] > 250 && p[1] > 250 && p[2] > 250;
    bool page = std::abs(p[0] - 0xf3) < 4 && std::abs(p[1] - 0xf5) < 4 && std::abs(p[2] - 0xf8) < 4;
    if (!white && !page) ++ink;
  }
  return n ? static_cast<double>(ink) / static_cast<double>(n) : 0;
}

std::size_t Image::pixels_of(std::uint8_t r, std::uint8_t g, std::uint8_t b) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 2 < rgb.size(); i += 3) {
    if (rgb[i] == r && rgb[i + 1] == g && rgb[i + 2] == b) ++n;
  }
  return n;
}

std::size_t Image::distinct_colours() const {
  std::unordered_set<std::uint32_t> seen;
  for (std::size_t i = 0; i + 2 < rgb.size(); i += 3) {
    seen.insert((std::uint32_t{rgb[i]} << 16) | (std::uint32_t{rgb[i + 1]} << 8) | rgb[i + 2]);
  }
  return seen.size();
}

} // namespace droplab::html_test
