// libnorman: the Norman application runtime. See runtime/README.md.
#pragma once

#include "norman/doorbell.hpp"
#include "norman/net.hpp"
#include "norman/notify_queue.hpp"
#include "norman/rings.hpp"
#include "norman/runtime.hpp"
#include "norman/udp_socket.hpp"
