#pragma once
// Everything in core/: tensors, autograd, the op library, random numbers, threads and gradcheck.

#include "core/autograd.h"
#include "core/custom_op.h"
#include "core/error.h"
#include "core/gradcheck.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"
#include "core/random.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "core/threads.h"
