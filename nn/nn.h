#pragma once
// Every layer in nn/, with Module, init and checkpoints.

#include "nn/attention.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/lstm.h"
#include "nn/module.h"
#include "nn/multihead_attention.h"
#include "nn/positional_encoding.h"
#include "nn/sequential.h"
#include "nn/serialize.h"
#include "nn/transformer.h"
