#pragma once
// Every layer in nn/, with Module, init and state-dict files.

#include "attograd/nn/attention.h"
#include "attograd/nn/dropout.h"
#include "attograd/nn/embedding.h"
#include "attograd/nn/init.h"
#include "attograd/nn/layer_norm.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/loss.h"
#include "attograd/nn/lstm.h"
#include "attograd/nn/module.h"
#include "attograd/nn/multihead_attention.h"
#include "attograd/nn/positional_encoding.h"
#include "attograd/nn/sequential.h"
#include "attograd/nn/serialize.h"
#include "attograd/nn/transformer.h"
#include "attograd/nn/weight_decay.h"
