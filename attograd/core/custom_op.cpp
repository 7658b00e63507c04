#include "attograd/core/custom_op.h"

#include "attograd/core/error.h"
#include "attograd/core/profiler.h"

namespace ag {

Tensor custom_op(std::string name, const std::vector<Tensor>& inputs, const CustomForward& forward,
                 CustomBackward backward) {
  const profile::OpScope scope(name, {});
  std::vector<Tensor> detached;
  for (const Tensor& x : inputs) detached.push_back(x.defined() ? x.detach() : Tensor());
  Tensor output;
  {
    NoGradGuard no_grad;
    output = forward(detached);
  }
  check(output.defined(), "{}: the forward function returned an undefined tensor", name);
  for (const Tensor& x : detached)
    if (x.defined() && output.impl() == x.impl()) output = output.clone();  // the op's output must be its own

  std::vector<Saved> saved_inputs(inputs.begin(), inputs.end());
  const size_t count = inputs.size();
  return record(std::move(name), inputs, output,
                [saved_inputs = std::move(saved_inputs), saved_output = Saved(output), backward = std::move(backward),
                 count](const Tensor& dy) {
                  std::vector<Tensor> in;
                  for (const Saved& s : saved_inputs) in.push_back(*s);
                  Grads grads = backward(in, *saved_output, dy);
                  check(grads.size() == count, "backward returned {} gradients for {} inputs", grads.size(), count);
                  return grads;
                });
}

}  // namespace ag
