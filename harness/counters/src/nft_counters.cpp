#include "droplab/counters/nft_counters.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"

#include <nftables/libnftables.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <utility>

namespace droplab::counters {

namespace {

using nlohmann::json;

// "udp dport", "ct state", "meta l4proto": the left side of a match, as nft writes it.
std::string render_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  if (v.is_object() && v.size() == 1) {
    const auto& [k, inner] = *v.items().begin();
    if (k == "payload" && inner.contains("protocol") && inner.contains("field"))
      return inner["protocol"].get<std::string>() + " " + inner["field"].get<std::string>();
    if ((k == "ct" || k == "meta") && inner.contains("key"))
      return k + " " + inner["key"].get<std::string>();
    if (k == "set" && inner.is_array()) {
      std::string s = "{ ";
      for (std::size_t i = 0; i < inner.size(); ++i)
        s += (i ? ", " : "") + render_value(inner[i]);
      return s + " }";
    }
  }
  return v.dump();
}

std::string render_expr(const json& e) {
  if (!e.is_object() || e.size() != 1) return e.dump();
  const auto& [k, v] = *e.items().begin();
  if (k == "match") {
    std::string op = v.value("op", "==");
    return render_value(v["left"]) + (op == "==" || op == "in" ? " " : " " + op + " ") +
           render_value(v["right"]);
  }
  if (k == "counter") return "counter";
  if (v.is_null()) return k; // accept, drop, continue, return
  if ((k == "jump" || k == "goto") && v.contains("target"))
    return k + " " + v["target"].get<std::string>();
  return k + " " + v.dump();
}

std::string origin_where(const std::string& ns) {
  return ns.empty() ? "in the caller's netns" : "in netns " + ns;
}

struct NftCtxFree {
  void operator()(nft_ctx* c) const noexcept { nft_ctx_free(c); }
};

} // namespace

NftTable parse_nft_json(std::string_view json_text, const std::string& table_name,
                        const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw ParseError(origin, 0, std::string("invalid JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array())
    throw ParseError(origin, 0, "no \"nftables\" array");
  NftTable t;
  t.name = table_name;
  const auto& items = doc["nftables"];
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json& item = items[i];
    const std::string path = "/nftables/" + std::to_string(i);
    try {
      if (item.contains("table") && item["table"].value("name", "") == table_name) {
        t.family = item["table"].value("family", "");
      } else if (item.contains("chain")) {
        const json& c = item["chain"];
        if (c.value("table", "") == table_name && c.value("policy", "") == "drop")
          t.policy_drop_chains.push_back(c.at("name").get<std::string>());
      } else if (item.contains("rule")) {
        const json& r = item["rule"];
        if (r.value("table", "") != table_name) continue;
        NftRule rule;
        rule.chain = r.at("chain").get<std::string>();
        rule.handle = r.at("handle").get<std::uint64_t>();
        std::string text;
        for (const json& e : r.value("expr", json::array())) {
          if (e.contains("counter") && e["counter"].is_object()) {
            rule.packets = e["counter"].at("packets").get<std::uint64_t>();
            rule.bytes = e["counter"].at("bytes").get<std::uint64_t>();
          }
          if (e.contains("drop") || e.contains("reject")) rule.drops = true;
          text += (text.empty() ? "" : " ") + render_expr(e);
        }
        if (r.contains("comment")) text += " comment \"" + r["comment"].get<std::string>() + "\"";
        rule.text = std::move(text);
        t.rules.push_back(std::move(rule));
      }
    } catch (const json::exception& e) {
      throw ParseError(origin, 0, path + ": " + e.what());
    }
  }
  return t;
}

void add_nft_counters(Snapshot& out, const std::string& role, const NftTable& table,
                      const std::string& source) {
  const std::string prefix = role + ".nft." + table.name + ".";
  std::vector<std::string> drop_parts;
  std::string drop_rules, uncounted;
  std::uint64_t drop_sum = 0;
  for (const NftRule& r : table.rules) {
    const std::string id = r.chain + "#" + std::to_string(r.handle);
    const std::string rule_src = source + ", rule " + id + ": " + r.text;
    const std::string key = prefix + r.chain + "." + std::to_string(r.handle) + ".";
    if (r.packets) {
      out.add(key + "packets", rule_src, *r.packets);
      out.add(key + "bytes", rule_src, *r.bytes);
    }
    if (!r.drops) continue;
    if (!r.packets) {
      uncounted += (uncounted.empty() ? "" : "; ") + id + ": " + r.text;
      continue;
    }
    drop_parts.push_back(key + "packets");
    drop_sum += *r.packets;
    drop_rules += (drop_rules.empty() ? "" : "; ") + id + ": " + r.text;
  }
  if (!uncounted.empty()) {
    out.add_unavailable(prefix + "drop_packets", source,
                        "drop rules without a counter: " + uncounted);
    return;
  }
  std::string src = source + ", drop rules: " + (drop_rules.empty() ? "none" : drop_rules);
  for (const auto& c : table.policy_drop_chains)
    src += "; chain " + c + " has policy drop, which no rule counter sees";
  out.add(prefix + "drop_packets", src, drop_sum).sum_of = std::move(drop_parts);
}

NftCounterCollector::NftCounterCollector(std::string role, std::string netns,
                                         std::string table_family, std::string table_name)
    : role_(std::move(role)), netns_(std::move(netns)), family_(std::move(table_family)),
      table_(std::move(table_name)) {}

std::string NftCounterCollector::name() const {
  return "nft(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ", table " + family_ + " " + table_ + ")";
}

void NftCounterCollector::collect(Snapshot& out) {
  const std::string source =
      "nftables table " + family_ + " " + table_ + " " + origin_where(netns_);
  std::string output, error;
  int rc = 0;
  in_netns(netns_, [&] {
    // The context's netlink socket is opened here, on the thread inside the namespace.
    std::unique_ptr<nft_ctx, NftCtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx) {
      rc = -1;
      error = "nft_ctx_new failed";
      return;
    }
    nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
    if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0) {
      rc = -1;
      error = "nft_ctx_buffer_output failed";
      return;
    }
    const std::string cmd = "list table " + family_ + " " + table_;
    rc = nft_run_cmd_from_buffer(ctx.get(), cmd.c_str());
    if (const char* o = nft_ctx_get_output_buffer(ctx.get())) output = o;
    if (const char* e = nft_ctx_get_error_buffer(ctx.get())) error = e;
  });
  const std::string key = role_ + ".nft." + table_ + ".drop_packets";
  if (rc != 0) {
    // nft's first error line, e.g. "Error: No such file or directory".
    std::string first = error.substr(0, error.find('\n'));
    out.add_unavailable(key, source,
                        "list table " + family_ + " " + table_ + ": " +
                            (first.empty() ? "libnftables failed" : first));
    return;
  }
  try {
    add_nft_counters(out, role_, parse_nft_json(output, table_, source), source);
  } catch (const ParseError& e) {
    out.add_unavailable(key, source, e.what());
  }
}

} // namespace droplab::counters
