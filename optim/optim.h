#pragma once
// Every optimizer, gradient clipping and the learning-rate schedules.

#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "optim/sgd.h"
