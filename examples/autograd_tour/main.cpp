#include "core/core.h"
int main() { return 0; }
