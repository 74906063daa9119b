// ReplyReader: parses the replies a Redis server sends back to a pipelined client, without
// allocating per reply: simple replies point into the reader's buffer. Only arrays (EXEC's
// reply, say) allocate their element list. RESP2, plus RESP3's simple types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::resp {

struct Reply {
  enum class Type : uint8_t { kStatus, kError, kInteger, kString, kNil, kArray, kOther };
  Type type = Type::kNil;
  std::string_view str;         // kStatus, kError, kString, kOther: the text
  int64_t integer = 0;          // kInteger
  std::vector<Reply> elements;  // kArray

  bool is_error() const { return type == Type::kError; }
};

class ReplyReader {
 public:
  enum class Result { kReply, kNeedMore, kError };

  // Appends bytes read from the server. Invalidates replies returned before.
  void feed(const char* data, size_t size);
  // The next whole reply, valid until the next feed() or clear(). kError: error() says what
  // is malformed; the stream cannot be read further.
  Result next(Reply* out);
  const std::string& error() const { return error_; }
  // Forgets everything buffered (a new connection).
  void clear();
  size_t buffered() const { return buf_.size() - pos_; }
  // Hands over the unread bytes and forgets them: what follows the replies on a connection
  // that changes framing (the replication stream after the handshake).
  std::string take_rest();

 private:
  // Parses one reply at *pos; advances *pos past it when whole.
  Result parse(size_t* pos, Reply* out, int depth);
  // The line at *pos without its CRLF; kNeedMore when the CRLF has not arrived.
  Result line(size_t* pos, std::string_view* out);

  std::string buf_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace ferry::resp
