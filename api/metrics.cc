#include "api/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>

#include "app/version.h"

namespace ferry {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

const auto kProcessStart = std::chrono::steady_clock::now();

class Families {
 public:
  // A family, created on first use; `type` and `help` describe it.
  MetricFamily& family(const std::string& name, MetricType type, const std::string& help) {
    for (MetricFamily& f : families_) {
      if (f.name == name) return f;
    }
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }

  void add(const std::string& name, MetricType type, const std::string& help,
           std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    family(name, type, help).metric.push_back(std::move(m));
  }
  void counter(const std::string& name, const std::string& help,
               std::vector<ClientMetric::Label> labels, double value) {
    add(name, MetricType::Counter, help, std::move(labels), value);
  }
  void gauge(const std::string& name, const std::string& help,
             std::vector<ClientMetric::Label> labels, double value) {
    add(name, MetricType::Gauge, help, std::move(labels), value);
  }
  void histogram(const std::string& name, const std::string& help,
                 std::vector<ClientMetric::Label> labels, const LatencyHistogram::Snapshot& s) {
    ClientMetric m;
    m.label = std::move(labels);
    m.histogram.sample_count = s.count;
    m.histogram.sample_sum = s.sum_seconds;
    for (size_t i = 0; i < s.bounds.size(); i++) {
      m.histogram.bucket.push_back(ClientMetric::Bucket{s.cumulative[i], s.bounds[i]});
    }
    m.histogram.bucket.push_back(
        ClientMetric::Bucket{s.count, std::numeric_limits<double>::infinity()});
    family(name, MetricType::Histogram, help).metric.push_back(std::move(m));
  }

  std::string text() const { return prometheus::TextSerializer().Serialize(families_); }

 private:
  std::vector<MetricFamily> families_;
};

void add_input(Families& f, const InputStatus& s) {
  const ClientMetric::Label in{"input", s.input};
  f.gauge("ferry_source_offset_bytes", "Replication offset received from the source", {in},
          static_cast<double>(s.source_offset));
  f.gauge("ferry_cached_offset_bytes", "Replication offset stored in the local cache", {in},
          static_cast<double>(s.cached_offset));
  f.gauge("ferry_applied_offset_bytes", "Replication offset applied on the target (stream phase)",
          {in}, static_cast<double>(s.applied_phase == "stream" ? s.applied_offset : 0));
  f.gauge("ferry_lag_bytes", "Stream bytes received from the source and not yet applied", {in},
          static_cast<double>(s.lag_bytes));
  f.gauge("ferry_lag_seconds",
          "How long the oldest stream byte not yet applied has waited since ferry received it",
          {in}, s.lag_seconds);
  for (const char* st : {"ready_run", "run", "pause", "stop"}) {
    f.gauge("ferry_input_state", "1 for the input's current State", {in, {"state", st}},
            std::string(input_state_name(s.state)) == st ? 1 : 0);
  }
  f.gauge("ferry_transaction_mode", "1 when batches commit with their checkpoint atomically", {in},
          s.transaction ? 1 : 0);

  // Full sync.
  f.gauge("ferry_full_sync_in_progress", "1 while a full sync (RDB) is being applied", {in},
          s.full_sync ? 1 : 0);
  f.gauge("ferry_rdb_bytes_total", "Size of the current or last RDB (0 when diskless: unknown)",
          {in}, static_cast<double>(s.rdb_size));
  f.gauge("ferry_rdb_bytes_received", "RDB bytes received from the source", {in},
          static_cast<double>(s.rdb_received));
  f.gauge("ferry_rdb_bytes_parsed", "RDB bytes parsed", {in}, static_cast<double>(s.rdb_parsed));
  f.gauge("ferry_rdb_bytes_applied", "RDB bytes whose keys are all applied on the target", {in},
          static_cast<double>(s.applied_phase == "rdb" ? s.applied_offset
                              : s.full_sync            ? 0
                                                       : s.rdb_parsed));
  f.gauge("ferry_rdb_keys_applied", "Keys of the current or last RDB applied on the target", {in},
          static_cast<double>(s.rdb_keys_applied));
  f.gauge("ferry_source_keys", "Keys in the source when the link was made (INFO keyspace)", {in},
          static_cast<double>(s.source_keys));

  // Commands, by name.
  for (const CommandCounts& c : s.commands) {
    const ClientMetric::Label name{"command", c.name};
    f.counter("ferry_commands_received_total", "Stream commands received, by name", {in, name},
              static_cast<double>(c.received));
    f.counter("ferry_commands_filtered_total",
              "Stream commands not replayed on purpose (keep-alives, ferry's own keys, a source "
              "MULTI/EXEC inside a batch transaction), by name",
              {in, name}, static_cast<double>(c.filtered));
    f.counter("ferry_commands_applied_total", "Stream commands applied on the target, by name",
              {in, name}, static_cast<double>(c.applied));
    f.counter("ferry_commands_failed_total", "Stream commands the target refused, by name",
              {in, name}, static_cast<double>(c.failed));
  }

  for (const auto& [reason, n] : s.skipped_by_reason) {
    f.counter("ferry_commands_skipped_total",
              "Commands left out for good because the target refused them for themselves "
              "alone, by reason (each is in the input's skip record)",
              {in, {"reason", reason}}, static_cast<double>(n));
  }
  f.gauge("ferry_input_ready", "1 when the input runs or is paused on purpose (GET /debug/ready)",
          {in}, s.ready ? 1 : 0);

  // Writes.
  f.counter("ferry_batches_total", "Batches acknowledged by the target", {in},
            static_cast<double>(s.batches));
  f.counter("ferry_written_bytes_total", "Bytes of batches acknowledged by the target", {in},
            static_cast<double>(s.bytes_written));
  f.histogram("ferry_batch_write_seconds",
              "Batch write latency: first byte sent to last reply received", {in}, s.batch_latency);

  // The source link.
  f.counter("ferry_reconnects_total", "Source link drops followed by a new connection", {in},
            static_cast<double>(s.reconnects));
  for (const auto& [reason, n] : s.full_syncs_by_reason) {
    f.counter("ferry_full_syncs_total", "Full syncs (RDB), by reason", {in, {"reason", reason}},
              static_cast<double>(n));
  }
  for (const auto& [reason, n] : s.partial_syncs_by_reason) {
    f.counter("ferry_partial_syncs_total", "Partial resyncs (+CONTINUE), by reason",
              {in, {"reason", reason}}, static_cast<double>(n));
  }

  // The local cache.
  f.gauge("ferry_cache_bytes", "Bytes this input keeps in the local cache", {in},
          static_cast<double>(s.cache_bytes));
  f.counter("ferry_cache_gc_runs_total", "Cache GC passes run for this input", {in},
            static_cast<double>(s.cache_gc_runs));
  f.counter("ferry_cache_gc_freed_bytes_total", "Bytes the cache GC freed for this input", {in},
            static_cast<double>(s.cache_gc_freed_bytes));
}

void add_process(Families& f) {
  long page = sysconf(_SC_PAGESIZE);
  long ticks = sysconf(_SC_CLK_TCK);
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (statm >> size >> resident) {
    f.gauge("ferry_process_resident_memory_bytes", "Resident set size of the ferry process", {},
            static_cast<double>(resident * page));
  }
  // /proc/self/stat: fields after the command name (which may hold spaces) in parentheses.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> fields;
    std::string field;
    while (rest >> field)
      fields.push_back(field);
    // fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
    if (fields.size() > 17) {
      double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(ticks);
      f.counter("ferry_process_cpu_seconds_total", "CPU time (user + system) of the process", {},
                cpu);
      f.gauge("ferry_process_threads", "Threads of the process", {}, std::stod(fields[17]));
    }
  }
  double up =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - kProcessStart).count();
  f.gauge("ferry_uptime_seconds", "Seconds since the process started", {}, up);
  f.gauge("ferry_build_info", "Always 1; the labels say which ferry this is",
          {{"version", FERRY_VERSION}}, 1);
}

}  // namespace

std::string render_metrics(const std::vector<InputStatus>& inputs) {
  Families f;
  for (const InputStatus& s : inputs)
    add_input(f, s);
  add_process(f);
  return f.text();
}

}  // namespace ferry
