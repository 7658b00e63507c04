#include "attograd/core/to_dot.h"

#include <map>
#include <unordered_map>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"

namespace ag {

namespace {

std::string shape_text(const Shape& s) { return fmt::format("{}", s); }

// A DOT string literal: quotes and backslashes escaped; "\n" stays a DOT line break.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string to_dot(const Tensor& root, const NamedTensors& names) {
  check(root.defined(), "to_dot: the tensor is undefined");
  std::unordered_map<const TensorImpl*, std::string> name_of;
  for (const auto& [name, t] : names)
    if (t.defined()) name_of.emplace(t.impl(), name);

  std::string out = "digraph autograd {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  auto leaf_label = [&](const TensorImpl* leaf, const Shape& shape) {
    auto it = name_of.find(leaf);
    return (it != name_of.end() ? it->second + "\n" : std::string()) + shape_text(shape);
  };
  if (!root.grad_fn()) {  // a leaf, or a tensor made without recording
    out += fmt::format("  t0 [shape={}, label={}];\n", root.requires_grad() ? "ellipse, style=filled, fillcolor=lightblue" : "note",
                       quoted(root.requires_grad() ? leaf_label(root.impl(), root.shape()) : shape_text(root.shape()) + "\nno grad"));
    return out + "}\n";
  }

  // Number the ops in the order a depth-first walk from the root meets them, and collect each op's
  // output shapes from the edges that read them (the root's from the root itself).
  std::unordered_map<const Node*, int> id;
  std::vector<const Node*> order;
  std::map<std::pair<const Node*, int>, Shape> output_shapes;
  output_shapes[{root.grad_fn().get(), root.impl()->output_nr}] = root.shape();
  std::vector<const Node*> stack{root.grad_fn().get()};
  id[root.grad_fn().get()] = 0;
  order.push_back(root.grad_fn().get());
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->inputs()) {
      if (!e.node) continue;
      output_shapes.try_emplace({e.node.get(), e.output}, e.shape);
      if (id.try_emplace(e.node.get(), static_cast<int>(order.size())).second) {
        order.push_back(e.node.get());
        stack.push_back(e.node.get());
      }
    }
  }

  std::unordered_map<const TensorImpl*, int> leaf_id;
  int constants = 0;
  for (const Node* node : order) {
    std::string label = node->name();
    for (int k = 0; k < node->num_outputs(); ++k) {
      auto it = output_shapes.find({node, k});
      if (it == output_shapes.end()) continue;
      label += node->num_outputs() > 1 ? fmt::format("\n{}: {}", k, it->second) : fmt::format("\n{}", it->second);
    }
    if (!node->alive()) label += "\n(freed by backward)";
    const int me = id[node];
    out += fmt::format("  op{} [shape=box, label={}];\n", me, quoted(label));
    for (const Edge& e : node->inputs()) {
      if (e.node) {
        out += fmt::format("  op{} -> op{};\n", id[e.node.get()], me);
      } else if (e.leaf) {
        auto [it, fresh] = leaf_id.try_emplace(e.leaf.get(), static_cast<int>(leaf_id.size()));
        if (fresh)
          out += fmt::format("  leaf{} [shape=ellipse, style=filled, fillcolor=lightblue, label={}];\n", it->second,
                             quoted(leaf_label(e.leaf.get(), e.shape)));
        out += fmt::format("  leaf{} -> op{};\n", it->second, me);
      } else if (e.shape.rank() > 0) {  // (an undefined input, such as a missing bias, has no shape)
        const int c = constants++;
        out += fmt::format("  const{} [shape=note, color=grey, fontcolor=grey40, label={}];\n", c,
                           quoted(shape_text(e.shape) + "\nno grad"));
        out += fmt::format("  const{} -> op{} [color=grey];\n", c, me);
      }
    }
  }
  return out + "}\n";
}

}  // namespace ag
