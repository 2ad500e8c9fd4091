// asio backend: Boost.Asio's udp::socket::async_receive_from with a handler
// that re-arms itself, the way a typical C++ service reads. The sink's loop
// drives the io_context with poll() (never blocks), so the constraints apply
// as with the other backends. async_receive_from has no control messages:
// SO_RXQ_OVFL and kernel timestamps are unavailable with this backend.
#pragma once

#include "droplab/sink/rx_backend.hpp"

#include <memory>

namespace droplab::sink {

// Defined in asio_rx.cpp so only that file includes Boost.Asio.
std::unique_ptr<RxBackend> make_asio_rx(int fd, unsigned batch);

} // namespace droplab::sink
