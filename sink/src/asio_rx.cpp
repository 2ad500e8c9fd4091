#include "asio_rx.hpp"

#include "droplab/payload.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace droplab::sink {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

class AsioRx final : public RxBackend {
public:
  AsioRx(int fd, unsigned batch)
      : RxBackend(fd), ctx_(1), sock_(ctx_), slots_(std::size_t{batch} + 1),
        data_(slots_ * kSlotBytes), out_(batch) {
    // asio closes what it is given: hand it a duplicate of the sink's socket.
    int dup = ::dup(fd);
    if (dup < 0) throw std::system_error(errno, std::generic_category(), "dup(sink socket)");
    boost::system::error_code ec;
    sock_.assign(udp::v4(), dup, ec);
    if (ec) {
      ::close(dup);
      throw std::system_error(ec.value(), std::generic_category(), "asio socket.assign");
    }
  }

  std::string_view name() const override { return "asio"; }
  bool has_kernel_timestamps() const override { return false; }
  std::optional<std::uint64_t> last_rxq_ovfl() const override { return std::nullopt; }

  std::span<const RxDatagram> read_batch(std::size_t max) override {
    got_ = 0;
    want_ = std::min(max, out_.size());
    if (!pending_) arm();
    ctx_.restart();
    ctx_.poll(); // runs every completed receive; each re-arms until want_ is reached
    if (error_) {
      auto ec = std::exchange(error_, {});
      throw std::system_error(ec.value(), std::generic_category(), "asio async_receive_from");
    }
    return {out_.data(), got_};
  }

private:
  // asio gives no MSG_TRUNC length: a slot holds the largest payload droplab
  // sends, so `length` is the datagram's real length, never a clamped one.
  static constexpr std::size_t kSlotBytes = udp_payload_for_wire(kMaxWireSize);

  // One receive in flight, into the slot after the last one filled: with
  // batch + 1 slots in rotation it never overwrites a datagram of the batch
  // being returned.
  void arm() {
    pending_ = true;
    std::byte* slot = data_.data() + next_slot_ * kSlotBytes;
    next_slot_ = (next_slot_ + 1) % slots_;
    sock_.async_receive_from(asio::buffer(slot, kSlotBytes), from_,
                             [this, slot](const boost::system::error_code& ec, std::size_t n) {
                               pending_ = false;
                               if (ec) {
                                 if (ec != asio::error::operation_aborted) error_ = ec;
                                 return;
                               }
                               // asio reports the bytes copied: a longer datagram is
                               // truncated to the slot (droplab datagrams are shorter).
                               out_[got_++] = {.head = {slot, n}, .length = n};
                               if (got_ < want_) arm();
                             });
  }

  asio::io_context ctx_;
  udp::socket sock_;
  std::size_t slots_;
  std::vector<std::byte> data_;
  std::vector<RxDatagram> out_;
  udp::endpoint from_;
  std::size_t next_slot_ = 0;
  std::size_t got_ = 0;
  std::size_t want_ = 0;
  bool pending_ = false;
  boost::system::error_code error_;
};

} // namespace

std::unique_ptr<RxBackend> make_asio_rx(int fd, unsigned batch) {
  return std::make_unique<AsioRx>(fd, batch);
}

} // namespace droplab::sink
