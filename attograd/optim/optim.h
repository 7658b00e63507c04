#pragma once
// Every optimizer, gradient clipping and the learning-rate schedules.

#include "attograd/optim/adam.h"
#include "attograd/optim/clip.h"
#include "attograd/optim/optimizer.h"
#include "attograd/optim/schedule.h"
#include "attograd/optim/sgd.h"
